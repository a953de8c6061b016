// A tRPC API protected by @repo/auth on the fetch adapter: the same module runs on Cloudflare
// Workers (`export default { fetch }`, settings from bindings) and on Vercel Edge and other
// fetch-handler runtimes (`handleApiRequest(request, process.env)`). The tests serve it on workerd
// and in @edge-runtime/vm.
import {
  type AccessTokenVerifier,
  buildAuthErrorHeaders,
  createAccessTokenVerifier,
  grantedScopes,
  isAuthError,
  requireScopes,
} from "@repo/auth";
import { initTRPC, TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";

/** The API's settings, as Worker bindings or environment variables. */
export interface EdgeApiEnv {
  /** The authorization server; discovery finds its issuer and JWKS. */
  ISSUER_BASE_URL: string;
  /** This API's identifier: tokens must name it in `aud`. */
  AUDIENCE: string;
}

interface Context {
  authorization: string | null;
  verifier: AccessTokenVerifier;
}

const t = initTRPC.context<Context>().create();

const TRPC_CODES = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  503: "SERVICE_UNAVAILABLE",
} as const;

// Auth failures become the tRPC error of the same status, the original kept as `cause` for the
// response headers; anything else (a bug) stays a 500.
const toTRPCError = (error: unknown) =>
  isAuthError(error)
    ? new TRPCError({ code: TRPC_CODES[error.status], message: error.message, cause: error })
    : error;

const protectedProcedure = t.procedure.use(async ({ ctx, next }) => {
  const auth = await ctx.verifier.authenticate(ctx.authorization).catch((error: unknown) => {
    throw toTRPCError(error);
  });
  return next({ ctx: { auth } });
});

export const appRouter = t.router({
  whoami: protectedProcedure.query(({ ctx }) => ({
    sub: ctx.auth.sub,
    scopes: grantedScopes(ctx.auth),
  })),
  report: protectedProcedure.query(({ ctx }) => {
    try {
      requireScopes(ctx.auth, ["read:reports"]);
    } catch (error) {
      throw toTRPCError(error);
    }
    return { sub: ctx.auth.sub };
  }),
});

// One verifier per isolate, built by the first request (Workers hand the settings to each request)
// and kept with its key cache for the isolate's life.
let verifier: AccessTokenVerifier | undefined;

/** Answers one request to `/trpc`: 401/403/503 with RFC 6750 headers when auth fails. */
export function handleApiRequest(request: Request, env: EdgeApiEnv): Promise<Response> {
  verifier ??= createAccessTokenVerifier({
    issuerBaseURL: env.ISSUER_BASE_URL,
    audience: env.AUDIENCE,
  });
  const context: Context = { authorization: request.headers.get("authorization"), verifier };
  return fetchRequestHandler({
    endpoint: "/trpc",
    req: request,
    router: appRouter,
    createContext: () => context,
    responseMeta({ errors }) {
      const cause = errors.map((error) => error.cause).find(isAuthError);
      return cause ? { headers: new Headers(buildAuthErrorHeaders(cause)) } : {};
    },
  });
}

export default { fetch: handleApiRequest };
