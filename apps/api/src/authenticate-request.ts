import type { AccessTokenClaims } from "@repo/auth";
import type { Context } from "./context.js";
import { traceVerification } from "./request-trace.js";

/**
 * The request's one verification of its bearer token: the first caller starts it, every later one
 * (the HTTP auth gate, each protected call of a batch) gets the same promise, so a request costs
 * at most one verification however many protected calls it holds.
 */
export function authenticateRequest(ctx: Context): Promise<AccessTokenClaims> {
  const { trace } = ctx;
  trace.verification ??= traceVerification(
    trace,
    ctx.services.verifier.authenticate(ctx.authorization),
  );
  return trace.verification;
}
