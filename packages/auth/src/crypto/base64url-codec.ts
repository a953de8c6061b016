const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The value of each base64url character by its char code.
const VALUES = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i += 1) VALUES[ALPHABET.charCodeAt(i)] = i;

const value = (text: string, index: number): number => VALUES[text.charCodeAt(index)] ?? 0;

/**
 * Decodes unpadded base64url without `Buffer`. The caller has checked the alphabet and the
 * canonical form (`isCanonicalBase64url`); bits past the last byte are ignored.
 */
export function decodeBase64urlBytes(text: string): Uint8Array {
  const bytes = new Uint8Array((text.length * 3) >> 2);
  let at = 0;
  let i = 0;
  for (; i + 4 <= text.length; i += 4) {
    const bits =
      (value(text, i) << 18) |
      (value(text, i + 1) << 12) |
      (value(text, i + 2) << 6) |
      value(text, i + 3);
    bytes[at++] = bits >> 16;
    bytes[at++] = (bits >> 8) & 0xff;
    bytes[at++] = bits & 0xff;
  }
  if (text.length - i >= 2) {
    const bits = (value(text, i) << 18) | (value(text, i + 1) << 12) | (value(text, i + 2) << 6);
    bytes[at++] = bits >> 16;
    if (text.length - i === 3) bytes[at] = (bits >> 8) & 0xff;
  }
  return bytes;
}

/** Encodes bytes as unpadded base64url without `Buffer`. */
export function encodeBase64url(bytes: Uint8Array): string {
  let text = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const bits = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    text +=
      ALPHABET.charAt(bits >> 18) +
      ALPHABET.charAt((bits >> 12) & 63) +
      ALPHABET.charAt((bits >> 6) & 63) +
      ALPHABET.charAt(bits & 63);
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const bits = ((bytes[i] ?? 0) << 16) | (rest === 2 ? (bytes[i + 1] ?? 0) << 8 : 0);
    text += ALPHABET.charAt(bits >> 18) + ALPHABET.charAt((bits >> 12) & 63);
    if (rest === 2) text += ALPHABET.charAt((bits >> 6) & 63);
  }
  return text;
}
