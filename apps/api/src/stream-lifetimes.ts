import type { AccessTokenClaims, AccessTokenVerifier } from "@repo/auth";

/** Why the server ended a stream; the stream's last event names it. */
export type StreamEndReason = "token_expired" | "key_revoked" | "shutting_down";

/** One open stream's hold on its token. */
export interface StreamLease {
  /** Aborts when the stream must end: the request went away, or {@link reason} was set. */
  signal: AbortSignal;
  /** Why the server ended the stream; `undefined` while it runs or when the client left. */
  reason(): StreamEndReason | undefined;
  /** Forgets the stream (once it has ended); idempotent. */
  release(): void;
}

/**
 * Keeps every open stream within what its token allows: a stream ends at the token's `exp` (so it
 * never outlives it), when the key that signed the token leaves the JWKS, and at shutdown.
 */
export interface StreamLifetimes {
  /** Watches a stream authorised by `claims` until `requestSignal` aborts or it is released. */
  watch(claims: AccessTokenClaims, requestSignal: AbortSignal | undefined): StreamLease;
  /** To call on the verifier's `keys_retired` event: ends the streams whose key was retired. */
  keysRetired(): void;
  /** Ends every stream (`shutting_down`); streams opened later end at once. */
  shutdown(): void;
  /** Streams being watched. */
  size(): number;
}

// setTimeout holds at most 2^31 - 1 ms (about 24.8 days); longer tokens are re-armed.
const MAX_TIMER = 2 ** 31 - 1;

interface Watched {
  claims: AccessTokenClaims;
  end(reason: StreamEndReason): void;
}

/**
 * @example
 * const lifetimes = createStreamLifetimes({ verifier, now: Date.now });
 * const lease = lifetimes.watch(ctx.auth, signal);
 * for await (const change of feed.subscribe(lastEventId, lease.signal)) yield change;
 * if (lease.reason()) yield { type: lease.reason() };
 */
export function createStreamLifetimes(options: {
  verifier: Pick<AccessTokenVerifier, "signingKeyRetired">;
  now: () => number;
  /** Told of each stream the server ends, with why. */
  onEnd?: (reason: StreamEndReason) => void;
}): StreamLifetimes {
  const { verifier, now, onEnd } = options;
  const watched = new Set<Watched>();
  let closing = false;

  return {
    watch(claims, requestSignal) {
      const controller = new AbortController();
      let reason: StreamEndReason | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const entry: Watched = { claims, end };
      const release = () => {
        clearTimeout(timer);
        watched.delete(entry);
        requestSignal?.removeEventListener("abort", onRequestAbort);
      };
      function end(why: StreamEndReason) {
        if (controller.signal.aborted) return;
        reason = why;
        release();
        controller.abort();
        onEnd?.(why);
      }
      function onRequestAbort() {
        release();
        controller.abort();
      }
      function arm() {
        const left = claims.exp * 1000 - now();
        if (left <= 0) return end("token_expired");
        timer = setTimeout(
          left > MAX_TIMER ? arm : () => end("token_expired"),
          Math.min(left, MAX_TIMER),
        );
      }

      if (requestSignal?.aborted) onRequestAbort();
      else if (closing) end("shutting_down");
      else if (verifier.signingKeyRetired(claims)) end("key_revoked");
      else {
        watched.add(entry);
        requestSignal?.addEventListener("abort", onRequestAbort, { once: true });
        arm();
      }
      return { signal: controller.signal, reason: () => reason, release };
    },
    keysRetired() {
      for (const entry of [...watched]) {
        if (verifier.signingKeyRetired(entry.claims)) entry.end("key_revoked");
      }
    },
    shutdown() {
      closing = true;
      for (const entry of [...watched]) entry.end("shutting_down");
    },
    size: () => watched.size,
  };
}
