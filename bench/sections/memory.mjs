import { reportFailures, sendResult } from "../lib/child.mjs";
import { AUDIENCE, createSigningKey, ISSUER, signTokens } from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick } from "../lib/options.mjs";
import { auth, hasVerifier } from "../lib/repo-auth.mjs";

reportFailures();

// The verifier's default bound; quick mode uses a small bound to stay within seconds.
const CACHE_SIZE = pick(10_000, 500);

function heapUsed() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

async function verifyAll(verifier, tokens) {
  for (const token of tokens) await verifier.verify(token);
}

/**
 * The verified-token cache filled to its bound with distinct tokens, then fed as many again: the
 * heap must stop growing at the bound.
 */
async function tokenCacheAtBound() {
  const key = createSigningKey();
  const jwks = await startJwksServer([key]);
  const tokens = signTokens(key, CACHE_SIZE * 2 + 1);
  const verifier = auth.createAccessTokenVerifier({
    issuer: ISSUER,
    jwksUri: jwks.jwksUri,
    audience: AUDIENCE,
    tokenCacheSize: pick(undefined, CACHE_SIZE),
  });
  await verifier.warmUp();
  await verifier.verify(tokens[0]);
  const empty = heapUsed();
  await verifyAll(verifier, tokens.slice(1, CACHE_SIZE + 1));
  const full = heapUsed();
  await verifyAll(verifier, tokens.slice(CACHE_SIZE + 1));
  const afterTwice = heapUsed();
  verifier.close();
  await jwks.close();
  return {
    entries: CACHE_SIZE,
    tokenLength: tokens[0].length,
    heapEmpty: empty,
    heapFull: full,
    heapAfterTwice: afterTwice,
    bytesPerEntry: (full - empty) / CACHE_SIZE,
  };
}

const data = { missing: [] };
if (hasVerifier) data.tokenCache = await tokenCacheAtBound();
else data.missing.push("createAccessTokenVerifier");
sendResult(data);
