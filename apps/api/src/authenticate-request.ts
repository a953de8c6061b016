import type { AuthenticatedClaims } from "@repo/auth";
import type { Context } from "./context.js";
import { traceVerification } from "./request-trace.js";

// What an inner context (no HTTP request) stands for: a DPoP proof cannot match it.
const NO_URL = "http://invalid/trpc";

/**
 * The request's one authentication (`Bearer`, or `DPoP` with its proof): the first caller starts
 * it, every later one (the HTTP auth gate, each protected call of a batch) gets the same promise,
 * so a request costs at most one verification — and a proof's `jti` is spent once — however many
 * protected calls it holds.
 */
export function authenticateRequest(ctx: Context): Promise<AuthenticatedClaims> {
  const { trace } = ctx;
  trace.verification ??= traceVerification(
    trace,
    ctx.services.verifier.authenticateRequest({
      method: ctx.method ?? "GET",
      url: ctx.url ?? NO_URL,
      headers: { authorization: ctx.authorization, dpop: ctx.dpop },
    }),
  );
  return trace.verification;
}
