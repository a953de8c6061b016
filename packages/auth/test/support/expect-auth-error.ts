import { AuthError, InvalidTokenError, type InvalidTokenReason } from "../../src/errors.js";

/** Awaits `promise`, expecting a rejection with an AuthError; returns it (or fails the test). */
export async function authErrorOf(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw new Error(`expected an AuthError, got ${String(error)}`, { cause: error });
  }
  throw new Error("expected a rejection, the promise resolved");
}

/** The `reason` of the InvalidTokenError `promise` rejects with. */
export async function reasonOf(promise: Promise<unknown>): Promise<InvalidTokenReason | string> {
  const error = await authErrorOf(promise);
  return error instanceof InvalidTokenError ? error.reason : error.code;
}
