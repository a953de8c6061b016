import type { SigningKey } from "./algorithms.js";
import type { AccessTokenClaims } from "./types.js";

/** A token whose signature and claims were checked, and the key that verified it. */
export interface VerifiedToken {
  claims: AccessTokenClaims;
  key: SigningKey;
}

class Node {
  prev: Node | undefined = undefined;
  next: Node | undefined = undefined;
  constructor(
    readonly key: number | string,
    readonly token: string,
    readonly bytes: number,
    public entry: VerifiedToken,
  ) {}
}

// A token is looked up by a number made of five characters near its end, which lie in the
// signature: a small integer is hashed and compared without allocating, where a string key (even a
// slice of the token) costs an allocation and a hash of its characters on every miss. The last
// character is skipped (it carries only the signature's last few bits). The node keeps the whole
// token and a hit must match it exactly, so two tokens with the same key never answer for each
// other; the later one simply replaces the earlier. Short strings (no JWS is this short) are their
// own key, so that they never share one.
const SHORT_TOKEN = 64;
function keyOf(token: string): number | string {
  const end = token.length - 1;
  if (end < SHORT_TOKEN) return token;
  let key = 0;
  // 5 × 6 bits: at most 2^30 - 1, a V8 small integer.
  for (let i = end - 5; i < end; i++) key = (key << 6) | (token.charCodeAt(i) & 63);
  return key;
}

/**
 * What an entry is charged against the byte budget: the token text, the claims parsed from its
 * payload (no larger than the payload's text) and a fixed allowance for the node, the `Map` slot
 * and the claims object. An estimate on the safe side; the `memory` benchmark section measures it.
 */
export const ENTRY_OVERHEAD_BYTES = 256;
export const entryBytes = (token: string): number => 2 * token.length + ENTRY_OVERHEAD_BYTES;

/**
 * A bounded LRU of verified tokens, keyed by the token text: a `Map` finds the node, a doubly linked
 * list through the nodes keeps the order (head = most recently used, tail = next to be evicted).
 * Bounded twice: at most `capacity` entries and at most `maxBytes` bytes by {@link entryBytes}, so
 * long tokens cannot make a full cache larger than its budget; a token larger than the whole budget
 * is not kept.
 *
 * Why not the `Map`'s own insertion order, re-inserting a key on each hit: V8 leaves a deleted
 * entry in the table until the next rehash, so deleting and re-setting the same key on every hit
 * makes lookups in a large `Map` tens of times slower. Here a hit only relinks two pointers and the
 * `Map` changes only when a token is added or removed.
 */
export class TokenCache {
  readonly #nodes = new Map<number | string, Node>();
  readonly #capacity: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #head: Node | undefined;
  #tail: Node | undefined;

  constructor(capacity: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#capacity = capacity;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** The bytes the entries are charged, by {@link entryBytes}. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entry for `token`, marked most recently used; entries of retired keys are dropped. */
  get(token: string): VerifiedToken | undefined {
    const node = this.#nodes.get(keyOf(token));
    if (node === undefined || node.token !== token) return undefined;
    if (node.entry.key.retired) {
      this.#remove(node);
      return undefined;
    }
    if (node !== this.#head) {
      this.#unlink(node);
      this.#pushFront(node);
    }
    return node.entry;
  }

  /** Drops every entry verified by a key that left the JWKS. */
  dropRetired(): void {
    for (let node = this.#head; node !== undefined; ) {
      const next = node.next;
      if (node.entry.key.retired) this.#remove(node);
      node = next;
    }
  }

  delete(token: string): void {
    const node = this.#nodes.get(keyOf(token));
    if (node !== undefined && node.token === token) this.#remove(node);
  }

  /** Adds or replaces `token` as the most recently used entry, evicting the least recently used. */
  set(token: string, entry: VerifiedToken): void {
    if (this.#capacity === 0) return;
    const key = keyOf(token);
    const existing = this.#nodes.get(key);
    if (existing !== undefined && existing.token !== token) this.#remove(existing);
    else if (existing !== undefined) {
      existing.entry = entry;
      if (existing !== this.#head) {
        this.#unlink(existing);
        this.#pushFront(existing);
      }
      return;
    }
    const bytes = entryBytes(token);
    if (bytes > this.#maxBytes) return;
    const node = new Node(key, token, bytes, entry);
    this.#nodes.set(key, node);
    this.#bytes += bytes;
    this.#pushFront(node);
    while (
      (this.#nodes.size > this.#capacity || this.#bytes > this.#maxBytes) &&
      this.#tail !== undefined
    ) {
      this.#remove(this.#tail);
    }
  }

  /** The cached tokens, most recently used first. */
  *keys(): IterableIterator<string> {
    for (let node = this.#head; node !== undefined; node = node.next) yield node.token;
  }

  #remove(node: Node): void {
    this.#unlink(node);
    this.#nodes.delete(node.key);
    this.#bytes -= node.bytes;
  }

  #unlink(node: Node): void {
    const { prev, next } = node;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    node.prev = undefined;
    node.next = undefined;
  }

  #pushFront(node: Node): void {
    node.next = this.#head;
    if (this.#head === undefined) this.#tail = node;
    else this.#head.prev = node;
    this.#head = node;
  }
}
