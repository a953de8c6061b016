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
    readonly key: string,
    readonly token: string,
    public entry: VerifiedToken,
  ) {}
}

// Tokens are looked up by their last characters, which lie in the signature: hashing a whole token
// (several hundred characters, a new string on every request) cost more than the rest of a hit.
// The node keeps the whole token and a hit must match it exactly, so two tokens sharing a suffix
// never answer for each other; the later one simply replaces the earlier.
const KEY_LENGTH = 32;
const keyOf = (token: string) => (token.length > 2 * KEY_LENGTH ? token.slice(-KEY_LENGTH) : token);

/**
 * A bounded LRU of verified tokens, keyed by the token text: a `Map` finds the node, a doubly linked
 * list through the nodes keeps the order (head = most recently used, tail = next to be evicted).
 *
 * Why not the `Map`'s own insertion order, re-inserting a key on each hit: V8 leaves a deleted
 * entry in the table until the next rehash, so deleting and re-setting the same key on every hit
 * makes lookups in a large `Map` tens of times slower. Here a hit only relinks two pointers and the
 * `Map` changes only when a token is added or removed.
 */
export class TokenCache {
  readonly #nodes = new Map<string, Node>();
  readonly #capacity: number;
  #head: Node | undefined;
  #tail: Node | undefined;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#nodes.size;
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
    const node = new Node(key, token, entry);
    this.#nodes.set(key, node);
    this.#pushFront(node);
    if (this.#nodes.size > this.#capacity && this.#tail !== undefined) this.#remove(this.#tail);
  }

  /** The cached tokens, most recently used first. */
  *keys(): IterableIterator<string> {
    for (let node = this.#head; node !== undefined; node = node.next) yield node.token;
  }

  #remove(node: Node): void {
    this.#unlink(node);
    this.#nodes.delete(node.key);
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
