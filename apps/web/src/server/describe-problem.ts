import "server-only";
import { WebEnvError } from "./env";
import { causes } from "./error-causes";

export type ProblemKind =
  | "config"
  | "issuer-unreachable"
  | "issuer-rejected"
  | "api-unreachable"
  | "api-keys-unavailable"
  | "token-rejected"
  | "api-error"
  | "unexpected";

/** What went wrong, in words for the person looking at the page, and what to check. */
export interface Problem {
  readonly kind: ProblemKind;
  readonly title: string;
  readonly summary: string;
  readonly checks: readonly string[];
}

/** Where the checks point; only addresses and the client id, never a secret. */
export interface ProblemContext {
  readonly apiUrl?: string | undefined;
  readonly issuer?: string | undefined;
  readonly clientId?: string | undefined;
  readonly audience?: string | undefined;
}

interface CodedError extends Error {
  code: string;
}

const oauthRefusals = new Set([
  "invalid_client",
  "unauthorized_client",
  "access_denied",
  "invalid_scope",
  "invalid_grant",
  "invalid_request",
  "invalid_target",
]);

function findByCode(error: unknown, prefix: string): CodedError | undefined {
  for (const item of causes(error)) {
    const code = (item as { code?: unknown }).code;
    if (item instanceof Error && typeof code === "string" && code.startsWith(prefix)) {
      return item as CodedError;
    }
  }
  return undefined;
}

function httpStatusOf(error: unknown): number | undefined {
  for (const item of causes(error)) {
    const status = (item as { data?: { httpStatus?: unknown } }).data?.httpStatus;
    if (typeof status === "number") return status;
  }
  return undefined;
}

/** The API's auth details of an error answer (`data.auth`, see apps/api's error formatter). */
function apiAuthOf(error: unknown): { code?: unknown; retryAfter?: unknown } | undefined {
  for (const item of causes(error)) {
    const auth = (item as { data?: { auth?: unknown } }).data?.auth;
    if (typeof auth === "object" && auth !== null) return auth;
  }
  return undefined;
}

function isTrpcClientError(error: unknown): boolean {
  return error instanceof Error && error.name === "TRPCClientError";
}

const at = (label: string, value: string | undefined) => (value ? `${label} \`${value}\`` : label);

/**
 * Turns a failure while loading a page into an explanation. Matches on stable error codes and
 * HTTP statuses only: messages may change, and a message is never shown.
 */
export function describeProblem(error: unknown, context: ProblemContext = {}): Problem {
  if (error instanceof WebEnvError) {
    return {
      kind: "config",
      title: "The web app is not configured correctly",
      summary: "Some environment variables are missing or malformed, so no API call was made.",
      checks: [
        ...error.problems.map((problem) => problem.replace(/^\w+/, (name) => `\`${name}\``)),
        "Set them in the environment of the web server (or apps/web/.env.local) and restart it.",
      ],
    };
  }

  const tokenError = findByCode(error, "ERR_TOKEN_");
  if (tokenError) {
    const oauthError = (tokenError as { error?: unknown }).error;
    if (
      tokenError.code === "ERR_TOKEN_ENDPOINT" &&
      typeof oauthError === "string" &&
      oauthRefusals.has(oauthError)
    ) {
      return {
        kind: "issuer-rejected",
        title: "The authorization server refused to issue a token",
        summary: `It answered "${oauthError}" to the client-credentials request, so the API was not called.`,
        checks: [
          `\`CLIENT_ID\` (\`${context.clientId ?? "unset"}\`) and \`CLIENT_SECRET\` belong to a client registered at the authorization server.`,
          `That client may request tokens for the audience \`${context.audience ?? "AUDIENCE"}\`.`,
          "In development, the seeded clients are `dev-writer` and `dev-reader` (see apps/issuer).",
        ],
      };
    }
    return {
      kind: "issuer-unreachable",
      title: "The authorization server cannot be reached",
      summary:
        "No access token could be obtained, so the API was not called. Cached tokens are used while they are valid; this one had run out or never existed.",
      checks: [
        at("The issuer is running and answers at", context.issuer),
        "`ISSUER_BASE_URL` (or `TOKEN_ENDPOINT`) points at it; in development `pnpm dev` starts it.",
        "Reload this page once it is back.",
      ],
    };
  }

  if (isTrpcClientError(error)) {
    const status = httpStatusOf(error);
    const auth = apiAuthOf(error);
    // A 503 is "no keys" only when the API says so: a proxy or a restarting API answers 503 too.
    if (status === 503 && auth?.code === "ERR_AUTH_KEYS_UNAVAILABLE") {
      const retryAfter =
        typeof auth.retryAfter === "number" && auth.retryAfter > 0 ? auth.retryAfter : undefined;
      return {
        kind: "api-keys-unavailable",
        title: "The API cannot verify tokens right now",
        summary:
          "The API is running but has no usable signing keys: it could not fetch the authorization server's JWKS.",
        checks: [
          "The authorization server is running and reachable from the API.",
          "The API's `ISSUER_BASE_URL` (or `JWKS_URI`) is correct; its `/readyz` answers 200 once keys are loaded.",
          retryAfter === undefined
            ? "Reload this page once it is back."
            : `The API tries again within ${retryAfter} s; reload this page after that.`,
        ],
      };
    }
    if (status === 401) {
      return {
        kind: "token-rejected",
        title: "The API rejected this app's access token",
        summary: "A fresh token was requested and tried once more; the API rejected that one too.",
        checks: [
          `\`AUDIENCE\` here (\`${context.audience ?? "unset"}\`) matches the API's \`AUDIENCE\`.`,
          "The web app and the API use the same authorization server (`ISSUER_BASE_URL`).",
          "The clocks of this machine, the API and the authorization server agree.",
        ],
      };
    }
    if (status !== undefined && status >= 500) {
      return {
        kind: "api-error",
        title: "The API failed to answer",
        summary: `It answered HTTP ${status} to a request from this app.`,
        checks: [
          "The API's log has a line for this request with its status and error code.",
          "Reload this page; if it keeps failing, the API needs attention, not this app.",
        ],
      };
    }
    if (status === undefined) {
      return {
        kind: "api-unreachable",
        title: "The API cannot be reached",
        summary:
          "The request to the API got no usable answer: refused, reset, timed out or not a tRPC response.",
        checks: [
          at("The API is running and answers at", context.apiUrl),
          "`API_URL` is the API's tRPC endpoint (it ends in `/trpc`); in development `pnpm dev` starts it.",
          "Reload this page once it is back.",
        ],
      };
    }
  }

  return {
    kind: "unexpected",
    title: "Something unexpected went wrong",
    summary: "The page could not be built. Details are in the web server's log.",
    checks: ["Reload the page. If it keeps happening, read the web server's log."],
  };
}
