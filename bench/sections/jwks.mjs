import { randomUUID } from "node:crypto";
import { reportFailures, sendResult } from "../lib/child.mjs";
import {
  AUDIENCE,
  accessTokenClaims,
  createSigningKey,
  ISSUER,
  signJwt,
} from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick } from "../lib/options.mjs";
import { auth, hasVerifier } from "../lib/repo-auth.mjs";

reportFailures();

const FLOOD = pick(10_000, 1000);
const FLOOD_BATCH = 500;
const COLD_START = 100;
const COOLDOWN_MS = 30_000;

const key = createSigningKey();

function createVerifier(jwksUri, now = Date.now) {
  const fetches = [];
  const verifier = auth.createAccessTokenVerifier({
    issuer: ISSUER,
    jwksUri,
    audience: AUDIENCE,
    jwksCooldown: COOLDOWN_MS,
    now,
    onEvent: (event) => {
      if (event.type === "jwks_fetch_succeeded" || event.type === "jwks_fetch_failed") {
        fetches.push(event.trigger);
      }
    },
  });
  return { verifier, fetches };
}

/**
 * Tokens naming a `kid` the JWKS does not have, as an attacker would send them: a valid token's
 * claims and signature under a header with a random `kid`, so the key lookup is what rejects them.
 */
function unknownKidTokens(count) {
  const [header, payload, signature] = signJwt(key, accessTokenClaims()).split(".");
  const decoded = JSON.parse(Buffer.from(header, "base64url").toString());
  return Array.from({ length: count }, () => {
    const forged = Buffer.from(JSON.stringify({ ...decoded, kid: randomUUID() })).toString(
      "base64url",
    );
    return `${forged}.${payload}.${signature}`;
  });
}

/**
 * A flood of unknown-kid tokens arriving within one cooldown. The verifier's clock is moved past the
 * cooldown that follows loading the keys (still well within their cache age), so the flood may cause
 * one refetch and no more.
 */
async function unknownKidFlood() {
  const jwks = await startJwksServer([key]);
  let clock = Date.now();
  const { verifier, fetches } = createVerifier(jwks.jwksUri, () => clock);
  await verifier.warmUp();
  clock += COOLDOWN_MS + 1000;
  const before = jwks.fetches;
  const tokens = unknownKidTokens(FLOOD);
  const started = performance.now();
  const statuses = new Map();
  for (let i = 0; i < tokens.length; i += FLOOD_BATCH) {
    const outcomes = await Promise.allSettled(
      tokens.slice(i, i + FLOOD_BATCH).map((token) => verifier.verify(token)),
    );
    for (const outcome of outcomes) {
      const status = outcome.status === "fulfilled" ? 200 : (outcome.reason?.status ?? "thrown");
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  }
  const elapsedMs = performance.now() - started;
  verifier.close();
  await jwks.close();
  return {
    requests: FLOOD,
    fetches: jwks.fetches - before,
    fetchTriggers: fetches.slice(1),
    statuses: Object.fromEntries(statuses),
    elapsedMs,
  };
}

/** Simultaneous first requests on a verifier that has not loaded its keys yet. */
async function coldStart() {
  const jwks = await startJwksServer([key]);
  const { verifier } = createVerifier(jwks.jwksUri);
  const token = signJwt(key, accessTokenClaims());
  const outcomes = await Promise.allSettled(
    Array.from({ length: COLD_START }, () => verifier.verify(token)),
  );
  const accepted = outcomes.filter((outcome) => outcome.status === "fulfilled").length;
  verifier.close();
  await jwks.close();
  return { requests: COLD_START, fetches: jwks.fetches, accepted };
}

const data = { missing: [] };
if (hasVerifier) {
  data.flood = await unknownKidFlood();
  data.coldStart = await coldStart();
} else {
  data.missing.push("createAccessTokenVerifier");
}
sendResult(data);
