import { cryptoBackend } from "#crypto";
import { encodeBase64url } from "../crypto/base64url-codec.js";
import { decodeBase64url } from "./base64url.js";

/** Server nonces for DPoP proofs (RFC 9449 §8, §9). */
export interface DpopNonceOptions {
  /**
   * The HMAC key nonces are made with: at least 32 characters (or bytes). Every instance of a fleet
   * must have the same one, so that each accepts the nonces of the others.
   */
  secret: string | Uint8Array;
  /**
   * Length of a nonce's time window, in seconds. A nonce is accepted in its window and the next
   * one, so it lives between one and two windows. Default 300.
   */
  window?: number;
}

/** What {@link DpopNonces.check} found. */
export type NonceVerdict = "current" | "previous" | "invalid";

/** Stateless nonces: nothing is stored, any instance with the secret checks any instance's nonce. */
export interface DpopNonces {
  /** The nonce of the window `atMs` falls in. */
  current(atMs: number): string;
  check(nonce: string | undefined, atMs: number): NonceVerdict;
}

const COUNTER_BYTES = 6;
const MAC_BYTES = 16;
// base64url of 22 bytes.
const NONCE_LENGTH = 30;
const MIN_SECRET_BYTES = 32;

/**
 * Nonces as `base64url(window number ‖ HMAC-SHA-256(secret, window number)[0..16])`: the window
 * number is 6 bytes big-endian, so a nonce is 30 characters of the NQCHAR set. Throws a
 * `TypeError` for a short secret or a bad window.
 */
export function createDpopNonces(options: DpopNonceOptions): DpopNonces {
  const secret =
    typeof options.secret === "string" ? new TextEncoder().encode(options.secret) : options.secret;
  if (!(secret instanceof Uint8Array) || secret.length < MIN_SECRET_BYTES) {
    throw new TypeError(
      `createAccessTokenVerifier: "dpop.nonce.secret" must have at least ${MIN_SECRET_BYTES} characters`,
    );
  }
  const windowMs = (options.window ?? 300) * 1000;
  if (!Number.isFinite(windowMs) || windowMs < 1000) {
    throw new TypeError('createAccessTokenVerifier: "dpop.nonce.window" must be at least 1 second');
  }
  // The last two windows' nonces: every check compares against these strings.
  const made = new Map<number, string>();
  const nonceOf = (counter: number): string => {
    let nonce = made.get(counter);
    if (nonce === undefined) {
      const bytes = new Uint8Array(COUNTER_BYTES + MAC_BYTES);
      let rest = counter;
      for (let i = COUNTER_BYTES - 1; i >= 0; i -= 1) {
        bytes[i] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      const mac = cryptoBackend.hmacSha256(secret, bytes.subarray(0, COUNTER_BYTES));
      bytes.set(mac.subarray(0, MAC_BYTES), COUNTER_BYTES);
      nonce = encodeBase64url(bytes);
      if (made.size >= 4) made.delete(made.keys().next().value as number);
      made.set(counter, nonce);
    }
    return nonce;
  };
  const counterAt = (atMs: number) => Math.floor(atMs / windowMs);

  return {
    current: (atMs) => nonceOf(counterAt(atMs)),
    check(nonce, atMs) {
      if (
        typeof nonce !== "string" ||
        nonce.length !== NONCE_LENGTH ||
        decodeBase64url(nonce) === undefined
      ) {
        return "invalid";
      }
      const counter = counterAt(atMs);
      if (equalInConstantTime(nonce, nonceOf(counter))) return "current";
      if (equalInConstantTime(nonce, nonceOf(counter - 1))) return "previous";
      return "invalid";
    },
  };
}

// Equal-length ASCII strings; the time taken does not depend on where they differ.
function equalInConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
