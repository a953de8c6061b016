import {
  createHash,
  createPublicKey,
  verify as cryptoVerify,
  generateKeyPairSync,
  randomUUID,
  sign,
} from "node:crypto";
import { measure } from "mitata";
import { reportFailures, sendResult } from "../lib/child.mjs";
import {
  AUDIENCE,
  accessTokenClaims,
  CLIENT_ID,
  createSigningKey,
  ISSUER,
  signJwt,
} from "../lib/fixtures.mjs";
import { startJwksServer } from "../lib/jwks-server.mjs";
import { pick } from "../lib/options.mjs";
import { auth, hasVerifier } from "../lib/repo-auth.mjs";
import { summarize } from "../lib/stats.mjs";

reportFailures();

// What a DPoP request costs the API on top of a bearer request, both with the token in the
// verified-token cache (the steady state of a caller): the proof's parse, key lookup, signature,
// `ath` hash and replay-store claim. The unit is one ES256 signature check, the proof's own floor.
const ROUNDS = pick(15, 1);
const MIN_CPU_TIME_NS = pick(150e6, 15e6);
const BATCH_SAMPLES = 16;
// Every timed DPoP request spends a proof (its jti is claimed in the memory replay store, as in
// production), so enough distinct proofs are signed up front for every sample of every round.
const PROOFS = pick(60_000, 4_000);
const SUBJECT = `${CLIENT_ID}@clients`;
const URL_ = "https://api.example.local/trpc/whoami";

const b64 = (value) => Buffer.from(value).toString("base64url");

const key = createSigningKey();
const jwks = await startJwksServer([key]);
const proofKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
const { kty, crv, x, y } = proofKey.publicKey.export({ format: "jwk" });
const jwk = { kty, crv, x, y };
const jkt = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
const bearerToken = signJwt(key, accessTokenClaims(0));
const boundToken = signJwt(key, { ...accessTokenClaims(1), cnf: { jkt } });
const ath = createHash("sha256").update(boundToken).digest("base64url");
const header = b64(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk }));

function signProof(iat) {
  const payload = b64(JSON.stringify({ jti: randomUUID(), htm: "GET", htu: URL_, iat, ath }));
  const input = `${header}.${payload}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: proofKey.privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}

function floorCase() {
  const proof = signProof(Math.floor(Date.now() / 1000));
  const [h, p, s] = proof.split(".");
  const input = Buffer.from(`${h}.${p}`);
  const signature = Buffer.from(s, "base64url");
  const publicKey = createPublicKey({ key: jwk, format: "jwk" });
  return () => {
    if (!cryptoVerify("sha256", input, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)) {
      throw new Error("bad");
    }
    return SUBJECT;
  };
}

async function verifierFor() {
  const verifier = auth.createAccessTokenVerifier({
    issuer: ISSUER,
    jwksUri: jwks.jwksUri,
    audience: AUDIENCE,
    dpop: { iatWindow: 3600 },
  });
  await verifier.warmUp();
  return verifier;
}

async function bearerCase() {
  const verifier = await verifierFor();
  const request = { method: "GET", url: URL_, headers: { authorization: `Bearer ${bearerToken}` } };
  return async () => (await verifier.authenticateRequest(request)).sub;
}

async function dpopCase() {
  const verifier = await verifierFor();
  const iat = Math.floor(Date.now() / 1000);
  const proofs = Array.from({ length: PROOFS }, () => signProof(iat));
  let next = 0;
  const authorization = `DPoP ${boundToken}`;
  return async () => {
    const proof = proofs[next++];
    if (proof === undefined)
      throw new Error(`more than ${PROOFS} DPoP requests timed: raise PROOFS`);
    const claims = await verifier.authenticateRequest({
      method: "GET",
      url: URL_,
      headers: { authorization, dpop: proof },
    });
    return claims.dpop?.jkt === jkt ? claims.sub : "unbound";
  };
}

const cases = [
  { id: "floor", name: "floor: one ES256 `crypto.verify`, prepared KeyObject", make: floorCase },
  {
    id: "bearer",
    name: "`authenticateRequest`, Bearer, token cached",
    make: bearerCase,
    needsVerifier: true,
  },
  {
    id: "dpop",
    name: "`authenticateRequest`, DPoP, token cached, new proof each",
    make: dpopCase,
    needsVerifier: true,
  },
];

const runnable = [];
const missing = [];
for (const entry of cases) {
  if (entry.needsVerifier && !(hasVerifier && typeof auth.memoryReplayStore === "function")) {
    missing.push(entry.name);
    continue;
  }
  const run = await entry.make();
  const subject = await run();
  if (subject !== SUBJECT) throw new Error(`${entry.id} returned ${subject}`);
  runnable.push({ ...entry, run, p50: [], ratio: [] });
}

const overhead = [];
for (let round = 0; round < ROUNDS; round += 1) {
  const order = runnable.map((_, i) => runnable[(i + round) % runnable.length]);
  const p50 = new Map();
  for (const entry of order) {
    const stats = await measure(entry.run, {
      min_cpu_time: MIN_CPU_TIME_NS,
      batch_samples: BATCH_SAMPLES,
    });
    p50.set(entry.id, stats.p50);
  }
  for (const entry of runnable) {
    entry.p50.push(p50.get(entry.id) / 1000);
    entry.ratio.push(p50.get(entry.id) / p50.get("floor"));
  }
  if (p50.has("dpop")) overhead.push((p50.get("dpop") - p50.get("bearer")) / p50.get("floor"));
}

await jwks.close();
sendResult({
  rounds: ROUNDS,
  minCpuTimeMs: MIN_CPU_TIME_NS / 1e6,
  missing,
  overhead: overhead.length ? summarize(overhead) : undefined,
  rows: runnable.map((entry) => ({
    id: entry.id,
    name: entry.name,
    micros: summarize(entry.p50),
    ratio: summarize(entry.ratio),
  })),
});
