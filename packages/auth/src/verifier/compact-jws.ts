import { cryptoBackend } from "#crypto";
import { InvalidTokenError } from "../errors.js";
import { isCanonicalBase64url } from "./base64url.js";
import type { AccessTokenHeader } from "./types.js";

/** A compact JWS split into its parts; nothing in it is verified yet. */
export interface ParsedJws {
  /** The first segment as sent: the key of {@link KnownHeaders}. */
  headerSegment: string;
  header: AccessTokenHeader;
  payload: Record<string, unknown>;
  /** `base64url(header) "." base64url(payload)`, the ASCII text the signature covers. */
  signingInput: string;
  signature: Uint8Array;
}

// Three non-empty base64url segments: no padding, no `+`/`/`, no whitespace. A JWE has five.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

// Only canonical text: a decoder that ignores the bits past the last byte gives one token many
// spellings (the signature segment can then be re-encoded and still verify).
function decodeSegment(segment: string): Uint8Array {
  if (!isCanonicalBase64url(segment)) throw new InvalidTokenError("malformed");
  return cryptoBackend.decodeBase64url(segment);
}

// RFC 7519 §7.2 and RFC 8259 §8.1: the header and claims are UTF-8 JSON. `fatal` refuses invalid
// sequences instead of turning them into U+FFFD (two byte strings would read as one claim value);
// `ignoreBOM` keeps a byte order mark in the text, where JSON.parse refuses it.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    // Repeated member names: JSON.parse keeps the lexically last, as RFC 7515 §5.2 and RFC 7519
    // §4 allow and as jose does.
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    // No `cause`: a SyntaxError's message quotes the text, and the text is the caller's token.
    throw new InvalidTokenError("malformed");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidTokenError("malformed");
  }
  return value as Record<string, unknown>;
}

/**
 * Headers of tokens that verified, by their encoded segment. An issuer sends the same few headers
 * (one per key), so a hit skips decoding and parsing; only verified headers enter, so tokens an
 * attacker makes up cannot fill it.
 */
export class KnownHeaders {
  readonly #headers = new Map<string, AccessTokenHeader>();
  readonly #limit: number;

  constructor(limit = KNOWN_HEADERS_LIMIT) {
    this.#limit = limit;
  }

  get(segment: string): AccessTokenHeader | undefined {
    return this.#headers.get(segment);
  }

  remember(segment: string, header: AccessTokenHeader): void {
    if (this.#headers.has(segment)) return;
    if (this.#headers.size >= this.#limit) {
      const oldest = this.#headers.keys().next();
      if (!oldest.done) this.#headers.delete(oldest.value);
    }
    this.#headers.set(segment, Object.freeze(header));
  }
}

const KNOWN_HEADERS_LIMIT = 32;

/**
 * Splits and decodes a compact JWS strictly (canonical base64url, UTF-8 JSON objects), and checks
 * the header before any key or crypto is touched: `alg` in the allow-list, no `crit` (this verifier
 * understands no extension), no `b64: false`, no `cty` (nested JWTs are not supported, and a plain
 * claims set under `cty: "JWT"` is not one). Keys the token names itself (`jwk`, `jku`, `x5u`,
 * `x5c`) are never read.
 */
export function parseCompactJws(
  token: unknown,
  maxLength: number,
  algorithms: ReadonlySet<string>,
  known?: KnownHeaders,
): ParsedJws {
  if (typeof token !== "string" || token.length > maxLength || !COMPACT_JWS.test(token)) {
    throw new InvalidTokenError("malformed");
  }
  const firstDot = token.indexOf(".");
  const secondDot = token.indexOf(".", firstDot + 1);
  const headerSegment = token.slice(0, firstDot);
  const header = known?.get(headerSegment) ?? parseJsonObject(decodeSegment(headerSegment));

  const { alg } = header;
  if (typeof alg !== "string" || !algorithms.has(alg)) throw new InvalidTokenError("algorithm");
  if (header.crit !== undefined) throw new InvalidTokenError("header");
  if (header.b64 !== undefined && header.b64 !== true) throw new InvalidTokenError("header");
  if (header.cty !== undefined) throw new InvalidTokenError("header");
  if (header.kid !== undefined && typeof header.kid !== "string") {
    throw new InvalidTokenError("malformed");
  }
  if (header.typ !== undefined && typeof header.typ !== "string") {
    throw new InvalidTokenError("type");
  }

  const payload = parseJsonObject(decodeSegment(token.slice(firstDot + 1, secondDot)));
  const signature = decodeSegment(token.slice(secondDot + 1));
  return {
    headerSegment,
    header: header as AccessTokenHeader,
    payload,
    signingInput: token.slice(0, secondDot),
    signature,
  };
}
