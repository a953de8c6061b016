import "server-only";

/**
 * An error and the errors behind it, following `cause` links (fetch, tRPC and the token client
 * each wrap the one below). Bounded: a cycle must not hang a render.
 */
export function* causes(error: unknown): Generator<unknown> {
  let current = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}
