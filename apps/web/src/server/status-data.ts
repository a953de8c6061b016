import "server-only";
import type { AppRouter } from "@repo/api";
import type { TokenClientStats } from "@repo/auth";
import type { inferRouterOutputs } from "@trpc/server";
import { scopeList } from "../lib/scopes";
import type { ApiCall } from "./api-call-log";
import { getApiCallLog, getApiClient, getPublicApiClient } from "./api-client";
import { describeProblem, type Problem } from "./describe-problem";
import { getWebEnv } from "./env";
import { logFailure, problemContext } from "./home-data";
import { getRelayStats, type RelayStats } from "./item-relay";
import { getTokenClient, getTokenEventLog } from "./token-client";
import { previewToken, type TokenPreview } from "./token-preview";

export type Health = inferRouterOutputs<AppRouter>["health"];
export type AuditEvent = inferRouterOutputs<AppRouter>["audit"]["list"]["events"][number];

/** The API's latest audit events, or why they cannot be shown. */
export type AuditState =
  | { readonly ok: true; readonly events: readonly AuditEvent[] }
  | { readonly ok: false; readonly missingScope: string }
  | { readonly ok: false; readonly problem: Problem };

/** Events `/status` shows, newest first. */
const AUDIT_EVENTS_SHOWN = 10;

export type TokenState =
  | {
      readonly ok: true;
      /** Whether this render was served from the cache (no token request was needed for it). */
      readonly fromCache: boolean;
      readonly issuedAt: number;
      readonly expiresAt: number;
      readonly scopes: readonly string[];
      readonly preview: TokenPreview | undefined;
    }
  | { readonly ok: false; readonly problem: Problem };

export type StatusData =
  | { readonly ok: false; readonly problem: Problem }
  | {
      readonly ok: true;
      readonly clientId: string;
      readonly audience: string;
      readonly token: TokenState;
      readonly stats: TokenClientStats;
      /** With `DPOP=on`: the thumbprint of the key the tokens are bound to (`cnf.jkt`). */
      readonly dpopJkt: string | undefined;
      readonly events: readonly { at: number; type: string }[];
      readonly health: { ok: true; value: Health } | { ok: false; problem: Problem };
      readonly audit: AuditState;
      readonly calls: readonly ApiCall[];
      readonly since: number;
      /** Browser streams of `/api/items/stream` open now, and the changes relayed so far. */
      readonly relay: RelayStats;
    };

async function loadToken(): Promise<TokenState> {
  const tokens = getTokenClient();
  try {
    const cached = await tokens.peekTokenSet();
    const set = cached ?? (await tokens.getTokenSet());
    return {
      ok: true,
      fromCache: cached !== undefined,
      issuedAt: set.issuedAt,
      expiresAt: set.expiresAt,
      scopes: scopeList(set.scope),
      preview: previewToken(set.accessToken),
    };
  } catch (error) {
    const problem = describeProblem(error, problemContext());
    logFailure("status:token", problem, error);
    return { ok: false, problem };
  }
}

async function loadHealth(): Promise<
  { ok: true; value: Health } | { ok: false; problem: Problem }
> {
  try {
    return { ok: true, value: await getPublicApiClient().health.query() };
  } catch (error) {
    const problem = describeProblem(error, problemContext());
    logFailure("status:health", problem, error);
    return { ok: false, problem };
  }
}

async function loadAudit(): Promise<AuditState> {
  try {
    const page = await getApiClient().audit.list.query({ limit: AUDIT_EVENTS_SHOWN });
    return { ok: true, events: page.events };
  } catch (error) {
    const status = (error as { data?: { httpStatus?: unknown } } | undefined)?.data?.httpStatus;
    if (status === 403) return { ok: false, missingScope: "read:audit" };
    const problem = describeProblem(error, problemContext());
    logFailure("status:audit", problem, error);
    return { ok: false, problem };
  }
}

/** What `/status` shows. Token state and API health are loaded independently: one can be down. */
export async function loadStatus(): Promise<StatusData> {
  let env: ReturnType<typeof getWebEnv>;
  try {
    env = getWebEnv();
  } catch (error) {
    const problem = describeProblem(error);
    logFailure("status", problem, error);
    return { ok: false, problem };
  }
  const [token, health, audit, dpopJkt] = await Promise.all([
    loadToken(),
    loadHealth(),
    loadAudit(),
    getTokenClient().dpopKeyThumbprint(),
  ]);
  const events = getTokenEventLog();
  return {
    ok: true,
    clientId: env.CLIENT_ID,
    audience: env.AUDIENCE,
    token,
    stats: getTokenClient().stats(),
    dpopJkt,
    events: events.recent().map(({ at, event }) => ({ at, type: event.type })),
    health,
    audit,
    calls: getApiCallLog().recent(),
    since: events.startedAt,
    relay: getRelayStats(),
  };
}
