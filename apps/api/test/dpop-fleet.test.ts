import type { ChildProcess } from "node:child_process";
import {
  generateTestKey,
  type PrivateRedis,
  signProof,
  startPrivateRedis,
  thumbprintOf,
} from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApiProcess } from "./fixtures/api-process.js";
import { type KeyServer, startKeyServer } from "./fixtures/key-server.js";
import { type RawAnswer, sendRaw } from "./fixtures/raw-http.js";
import { AUDIENCE, createSigner, m2mClaims, type Signer } from "./fixtures/signer.js";
import { waitFor } from "./fixtures/wait-for.js";

// Three API processes behind one public URL, as behind a load balancer, sharing a Redis replay
// store and a nonce secret: a proof is spent once across the fleet, and any instance's nonce is
// good on every other.
const PUBLIC_URL = "https://api.example.local";
const HTU = `${PUBLIC_URL}/trpc/whoami`;
const proofKey = generateTestKey("fleet-client", { alg: "ES256" });
const children: ChildProcess[] = [];
let redis: PrivateRedis;
let keys: KeyServer;
let signer: Signer;
let urls: string[];

beforeAll(async () => {
  redis = await startPrivateRedis();
  signer = await createSigner();
  keys = await startKeyServer(() => [signer.publicJwk]);
  const processes = [0, 1, 2].map(() =>
    startApiProcess({
      PORT: "0",
      ISSUER_BASE_URL: keys.issuer,
      AUDIENCE,
      PUBLIC_URL,
      REDIS_URL: redis.url,
      DPOP_NONCE: "on",
      DPOP_NONCE_SECRET: "fleet-secret-".repeat(3),
    }),
  );
  for (const each of processes) children.push(each.child);
  urls = await Promise.all(
    processes.map(async (each) => {
      const line = await each.waitForLine((text) => text.includes('"msg":"listening"'));
      return (JSON.parse(line) as { url: string }).url;
    }),
  );
  for (const url of urls) {
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, "keys");
  }
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await keys?.close();
  await redis?.stop();
});

async function boundToken() {
  const jkt = await thumbprintOf(proofKey);
  return signer.sign(m2mClaims(keys.issuer, { cnf: { jkt } }));
}

function send(url: string, token: string, proof: string): Promise<RawAnswer> {
  return sendRaw(url, {
    method: "GET",
    target: "/trpc/whoami",
    headers: [
      ["authorization", `DPoP ${token}`],
      ["dpop", proof],
    ],
  });
}

const proofFor = (token: string, nonce?: string) =>
  signProof(proofKey, { url: HTU, accessToken: token, iat: Math.floor(Date.now() / 1000), nonce });

async function nonceFrom(url: string, token: string): Promise<string> {
  const asked = await send(url, token, proofFor(token));
  expect(asked.status).toBe(401);
  expect(asked.headers["www-authenticate"]).toMatch(/^DPoP realm="api", error="use_dpop_nonce"/);
  return asked.headers["dpop-nonce"] as string;
}

describe("a fleet of three API processes", () => {
  it("accepts each instance's nonce on every instance (one DPOP_NONCE_SECRET)", async () => {
    const token = await boundToken();
    const nonce = await nonceFrom(urls[0] as string, token);
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
    for (const url of urls) {
      expect((await send(url, token, proofFor(token, nonce))).status).toBe(200);
    }
  });

  it("accepts exactly one of 50 parallel replays spread over the three (Redis replay store)", async () => {
    const token = await boundToken();
    const proof = proofFor(token, await nonceFrom(urls[1] as string, token));
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(urls[i % 3] as string, token, proof)),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const answer of answers.filter((each) => each.status !== 200)) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.data.auth.proofReason).toBe("replay");
    }
  });
});
