import type { SigningKey } from "./algorithms.js";
import type { AccessTokenClaims } from "./types.js";

/** A token whose signature and claims were checked, and the key that verified it. */
export interface VerifiedToken {
  claims: AccessTokenClaims;
  key: SigningKey;
}

/**
 * A bounded LRU of verified tokens, keyed by the token text. A `Map` keeps insertion order, so the
 * first key is the least recently used once hits are re-inserted.
 */
export class TokenCache {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry for `token`, marked most recently used; entries of retired keys are dropped. */
  get(token: string): VerifiedToken | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    this.#entries.delete(token);
    if (entry.key.retired) return undefined;
    this.#entries.set(token, entry);
    return entry;
  }

  /** Drops every entry verified by a key that left the JWKS. */
  dropRetired(): void {
    for (const [token, entry] of this.#entries) if (entry.key.retired) this.#entries.delete(token);
  }

  delete(token: string): void {
    this.#entries.delete(token);
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(token);
    this.#entries.set(token, entry);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }
}
