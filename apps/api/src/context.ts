import type { AccessTokenVerifier, ScopeSource } from "@repo/auth";
import type { Database } from "./db/open-database.js";
import type { ItemChangeFeed } from "./item-change-feed.js";
import type { RequestTrace } from "./request-trace.js";
import type { StreamLifetimes } from "./stream-lifetimes.js";

/** What procedures use, built once at start and shared by every request. */
export interface ApiServices {
  verifier: Pick<
    AccessTokenVerifier,
    "authenticate" | "authenticateRequest" | "dpopChallenge" | "health" | "signingKeyRetired"
  >;
  /** Where items live. */
  database: Database;
  /** Where item writes are published for `items.onChange`; publish after the write is committed. */
  changes: ItemChangeFeed;
  /** Ends open streams when their token expires or its key is retired. */
  streams: StreamLifetimes;
  /** Which claims grant scopes (default `scope`); `permissions` for Auth0 APIs that enforce RBAC. */
  scopesFrom?: ScopeSource;
}

/** The context of every procedure. It only carries what the request said; nothing is verified yet. */
export interface Context {
  services: ApiServices;
  /** The `Authorization` header as received: a list when the header was repeated. */
  authorization: string | readonly string[] | undefined;
  /** The `Idempotency-Key` header as received, for mutations. */
  idempotencyKey?: string | readonly string[] | undefined;
  /** The `DPoP` header as received (Node joins repeated ones with commas). */
  dpop?: string | readonly string[] | undefined;
  /** The method as received (a HEAD stays HEAD here after it is served as a GET): the proof's `htm`. */
  method?: string;
  /** The request's URL as its clients address it (`PUBLIC_URL` + path): the proof's `htu`. */
  url?: string;
  trace: RequestTrace;
}

/**
 * Builds a context without HTTP, for `createCaller` in tests and scripts.
 *
 * @example
 * const caller = createCaller(createInnerContext(services, `Bearer ${token}`));
 * await caller.whoami();
 */
export function createInnerContext(
  services: ApiServices,
  authorization?: string | readonly string[],
  options: { idempotencyKey?: string } = {},
): Context {
  return { services, authorization, idempotencyKey: options.idempotencyKey, trace: {} };
}
