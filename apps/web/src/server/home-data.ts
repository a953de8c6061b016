import "server-only";
import type { AppRouter } from "@repo/api";
import type { inferRouterOutputs } from "@trpc/server";
import { requiredScopes, scopeList } from "../lib/scopes";
import { getApiClient } from "./api-client";
import { describeProblem, type Problem, type ProblemContext } from "./describe-problem";
import { getWebEnv } from "./env";

type Outputs = inferRouterOutputs<AppRouter>;
export type WhoAmI = Outputs["whoami"];
export type Item = Outputs["items"]["list"]["items"][number];

export type ItemsResult =
  | { readonly ok: true; readonly items: readonly Item[]; readonly more: boolean }
  | { readonly ok: false; readonly missingScope: string };

export type HomeData =
  | { readonly ok: false; readonly problem: Problem }
  | {
      readonly ok: true;
      readonly whoami: WhoAmI;
      readonly scopes: readonly string[];
      readonly items: ItemsResult;
    };

/** The addresses a problem explanation may point at; the secret is never among them. */
export function problemContext(): ProblemContext {
  try {
    const env = getWebEnv();
    return {
      apiUrl: env.API_URL,
      issuer: env.TOKEN_ENDPOINT ?? env.ISSUER_BASE_URL,
      clientId: env.CLIENT_ID,
      audience: env.AUDIENCE,
    };
  } catch {
    return {};
  }
}

function isForbidden(error: unknown): boolean {
  return (error as { data?: { httpStatus?: unknown } } | undefined)?.data?.httpStatus === 403;
}

/** Logs what failed without the error's message, which may quote a response body. */
export function logFailure(where: string, problem: Problem, error: unknown): void {
  const code = (error as { code?: unknown } | undefined)?.code;
  console.error(
    JSON.stringify({
      msg: "page data failed",
      where,
      kind: problem.kind,
      error: error instanceof Error ? error.name : typeof error,
      ...(typeof code === "string" ? { code } : {}),
    }),
  );
}

/** Items `/` shows: the API's largest page, the oldest first. */
const HOME_PAGE_SIZE = 100;

/** Everything `/` shows, fetched in one batched request (whoami and the list's first page). */
export async function loadHome(): Promise<HomeData> {
  try {
    const api = getApiClient();
    const [whoami, items] = await Promise.allSettled([
      api.whoami.query(),
      api.items.list.query({ limit: HOME_PAGE_SIZE }),
    ]);
    if (whoami.status === "rejected") throw whoami.reason;
    if (items.status === "rejected" && !isForbidden(items.reason)) throw items.reason;
    return {
      ok: true,
      whoami: whoami.value,
      scopes: scopeList(whoami.value.scopes),
      items:
        items.status === "fulfilled"
          ? { ok: true, items: items.value.items, more: items.value.nextCursor !== null }
          : { ok: false, missingScope: requiredScopes.listItems },
    };
  } catch (error) {
    const problem = describeProblem(error, problemContext());
    logFailure("home", problem, error);
    return { ok: false, problem };
  }
}
