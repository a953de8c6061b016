// Bundled into each runtime the `runtimes` section measures (web APIs only). `PROBE` is defined at
// bundle time: the JWKS URL, issuer, audience, a token and its key's public JWK.
import { createAccessTokenVerifier } from "@repo/auth";

/* global PROBE */
const { issuer, audience, jwksUri, token, jwk } = PROBE;

function fromBase64url(text) {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * The operations timed: the runtime's own floor (a WebCrypto RS256 check on a prepared key), and
 * `@repo/auth`'s verifier with the verified-token cache off and on. Each accepts the token first.
 */
export async function prepare() {
  const [header, payload, signature] = token.split(".");
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const key = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["verify"]);
  const data = new TextEncoder().encode(`${header}.${payload}`);
  const signatureBytes = fromBase64url(signature);
  const options = { issuer, jwksUri, audience };
  const uncached = createAccessTokenVerifier({ ...options, tokenCacheSize: false });
  const cached = createAccessTokenVerifier(options);
  const ops = {
    floor: async () => {
      if (!(await crypto.subtle.verify(algorithm, key, signatureBytes, data))) {
        throw new Error("the floor refused the token");
      }
    },
    uncached: () => uncached.verify(token),
    cached: () => cached.verify(token),
  };
  for (const op of Object.values(ops)) await op();
  return {
    ops,
    close() {
      uncached.close();
      cached.close();
    },
  };
}

/** Runs `op` `n` times in a row. */
export async function batch(op, n) {
  for (let i = 0; i < n; i += 1) await op();
}

/**
 * µs per operation of each op, for `rounds` rounds of `iterations[op]` calls each, the ops
 * interleaved within a round; timed with the runtime's own clock.
 */
export async function measureAll({ ops }, rounds, iterations) {
  const samples = Object.fromEntries(Object.keys(ops).map((name) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, op] of Object.entries(ops)) {
      const started = performance.now();
      await batch(op, iterations[name]);
      samples[name].push(((performance.now() - started) * 1000) / iterations[name]);
    }
  }
  return samples;
}
