import { decodeBase64urlBytes } from "../crypto/base64url-codec.js";

const ALPHABET = /^[A-Za-z0-9_-]*$/;

// The value (0–63) of a base64url character known to be in the alphabet.
function sextet(code: number): number {
  if (code >= 97) return code - 71; // a-z
  if (code >= 65) return code - 65; // A-Z
  if (code >= 48) return code + 4; // 0-9
  return code === 45 ? 62 : 63; // - _
}

/**
 * Whether `text`, made of base64url characters only, is the one encoding of some byte string
 * (RFC 4648 §3.5): its length is not 4n+1, and the bits its last character carries beyond the
 * encoded bytes are zero. Decoders that ignore those bits let one value have many encodings.
 */
export function isCanonicalBase64url(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const unused = rest === 2 ? 0x0f : 0x03;
  return (sextet(text.charCodeAt(text.length - 1)) & unused) === 0;
}

/** Decodes canonical base64url without padding; `undefined` for anything else. */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (!ALPHABET.test(text) || !isCanonicalBase64url(text)) return undefined;
  return decodeBase64urlBytes(text);
}
