import { decodeBase64urlBytes } from "./base64url-codec.js";

/**
 * The length in octets of every RSA signature for the modulus `n` (base64url, leading zero octets
 * allowed): RFC 8017 §8.1.2 and §8.2.2 refuse any other length. OpenSSL takes a PSS signature one
 * octet short when its first octet is zero, which would give one signature two spellings.
 */
export function rsaSignatureLength(n: string): number {
  const bytes = decodeBase64urlBytes(n);
  let first = 0;
  while (first < bytes.length && bytes[first] === 0) first++;
  return bytes.length - first;
}
