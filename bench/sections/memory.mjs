import { fileURLToPath } from "node:url";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
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

// The million-token run: that many distinct tokens verified by one verifier with its default
// options; its resident set must stay within a fixed budget of where it started.
const UNIQUE_TOKENS = pick(1_000_000, 20_000);
const SIGNING_BATCH = 2000;

/**
 * Verifies `UNIQUE_TOKENS` distinct ES256 tokens (signed by a child process, a batch ahead) with
 * default options, and reads RSS at the start (keys loaded, one token verified) and at the end.
 * ES256 rather than RS256: signing a million RSA tokens would take a quarter of an hour.
 */
async function millionTokens() {
  const signer = startChild(
    fileURLToPath(new URL("../processes/es256-signer.mjs", import.meta.url)),
  );
  const { jwk } = await signer.receive("ready");
  const jwks = await startJwksServer([{ jwk }]);
  const verifier = auth.createAccessTokenVerifier({
    issuer: ISSUER,
    jwksUri: jwks.jwksUri,
    audience: AUDIENCE,
    algorithms: ["ES256"],
  });
  await verifier.warmUp();
  const requestBatch = () => signer.request({ type: "sign", count: SIGNING_BATCH }, "tokens");
  let pending = requestBatch();
  const first = await pending;
  pending = requestBatch();
  await verifier.verify(first.tokens[0]);
  const rssFirst = process.memoryUsage().rss;
  for (const token of first.tokens.slice(1)) await verifier.verify(token);
  // The start: keys loaded and a first batch verified, so the young generation has grown to its
  // working size (a fixed cost of any busy process, which the one-token figure includes).
  const rssStart = process.memoryUsage().rss;
  const heapStart = heapUsed();
  const started = performance.now();
  let verified = first.tokens.length;
  let tokenLength = first.tokens[0].length;
  let rssFull;
  while (verified < UNIQUE_TOKENS) {
    const { tokens } = await pending;
    if (verified + tokens.length < UNIQUE_TOKENS) pending = requestBatch();
    for (const token of tokens) await verifier.verify(token);
    verified += tokens.length;
    tokenLength = tokens[0].length;
    // Once the cache has been filled and turned over once: the size it keeps from then on.
    if (rssFull === undefined && verified >= 20_000) rssFull = process.memoryUsage().rss;
  }
  const elapsedS = (performance.now() - started) / 1000;
  const rssEnd = process.memoryUsage().rss;
  const heapEnd = heapUsed();
  verifier.close();
  await jwks.close();
  await signer.stop();
  return {
    tokens: verified,
    firstBatch: first.tokens.length,
    tokenLength,
    rssFirst,
    rssStart,
    rssFull,
    rssEnd,
    heapStart,
    heapEnd,
    elapsedS,
  };
}

const data = { missing: [] };
if (hasVerifier) data.millionTokens = await millionTokens();
if (hasVerifier) data.tokenCache = await tokenCacheAtBound();
else data.missing.push("createAccessTokenVerifier");
sendResult(data);
