import { generateTestKey, signProof, type TestKey, thumbprintOf } from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DPOP_ALGS, NO_CREDENTIALS_CHALLENGE } from "./fixtures/challenges.js";
import { type RawAnswer, sendRaw } from "./fixtures/raw-http.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";
import { m2mClaims } from "./fixtures/signer.js";
import { waitFor } from "./fixtures/wait-for.js";

// DPoP (RFC 9449) through the API's HTTP layer: every link type gets its status before the first
// byte, bound tokens never pass as Bearer, proofs are single-use, and nothing of a proof or token
// reaches the log.
const proofKey = generateTestKey("client", { alg: "ES256" });
const otherKey = generateTestKey("other", { alg: "ES256" });

async function started(env: Record<string, string> = {}): Promise<SignedApi> {
  const stack = await startSignedApi({}, env);
  await waitFor(async () => (await fetch(`${stack.api.url}/readyz`)).status === 200, "keys");
  return stack;
}

/** A token bound to `key`, signed by the stack's issuer. */
async function boundToken(stack: SignedApi, key: TestKey = proofKey, claims = {}) {
  const jkt = await thumbprintOf(key);
  return stack.signer.sign(
    m2mClaims(stack.keys.issuer, { scope: "read:items", cnf: { jkt }, ...claims }),
  );
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Sends `method` to `/trpc/<target>` with DPoP credentials for `htuBase` + path. */
async function sendDpop(
  stack: SignedApi,
  method: string,
  target: string,
  token: string,
  options: {
    key?: TestKey;
    htu?: string;
    headers?: [string, string][];
    body?: string;
    nonce?: string;
  } = {},
): Promise<RawAnswer> {
  const path = `/trpc/${target}`.split("?")[0] as string;
  const proof = signProof(options.key ?? proofKey, {
    method,
    url: options.htu ?? `${stack.api.url}${path}`,
    accessToken: token,
    iat: nowSeconds(),
    nonce: options.nonce,
  });
  return sendRaw(stack.api.url, {
    method,
    target: `/trpc/${target}`,
    headers: [["authorization", `DPoP ${token}`], ["dpop", proof], ...(options.headers ?? [])],
    body: options.body,
  });
}

describe("DPOP=allowed (the default)", () => {
  let stack: SignedApi;
  beforeAll(async () => {
    stack = await started();
  });
  afterAll(() => stack?.close());

  it("serves a bound token with its proof, and ctx.auth carries the binding", async () => {
    const token = await boundToken(stack);
    const whoami = await sendDpop(stack, "GET", "whoami", token);
    expect(whoami.status).toBe(200);
    expect(JSON.parse(whoami.body).result.data.sub).toBe("test-client@clients");
    const binding = await sendDpop(stack, "GET", "binding", token);
    expect(binding.status).toBe(200);
    expect(JSON.parse(binding.body).result.data).toEqual({ jkt: await thumbprintOf(proofKey) });
  });

  it("refuses a bound token sent as Bearer with 401 invalid_token", async () => {
    const token = await boundToken(stack);
    const answer = await sendRaw(stack.api.url, {
      method: "GET",
      target: "/trpc/whoami",
      headers: [["authorization", `Bearer ${token}`]],
    });
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toMatch(
      /^Bearer realm="api", error="invalid_token"/,
    );
    expect(JSON.parse(answer.body).error.data.auth).toMatchObject({ reason: "dpop_bound" });
  });

  it("challenges a request without credentials in both schemes", async () => {
    const answer = await sendRaw(stack.api.url, { method: "GET", target: "/trpc/whoami" });
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toBe(NO_CREDENTIALS_CHALLENGE);
  });

  it("keeps bearer tokens working, but not for a requireDpop procedure", async () => {
    const bearer = await stack.bearer();
    const whoami = await sendRaw(stack.api.url, {
      method: "GET",
      target: "/trpc/whoami",
      headers: [["authorization", bearer]],
    });
    expect(whoami.status).toBe(200);
    for (const target of ["binding", "binding?batch=1&input=%7B%7D", "whoami,binding?batch=1"]) {
      const answer = await sendRaw(stack.api.url, {
        method: "GET",
        target: `/trpc/${target}`,
        headers: [
          ["authorization", bearer],
          ["trpc-accept", "application/jsonl"],
        ],
      });
      expect(answer.status, target).toBe(401);
      expect(answer.headers["www-authenticate"], target).toBe(
        `DPoP realm="api", algs="${DPOP_ALGS}"`,
      );
    }
    const plain = await sendRaw(stack.api.url, {
      method: "GET",
      target: "/trpc/binding",
      headers: [["authorization", bearer]],
    });
    expect(plain.status).toBe(401);
    expect(JSON.parse(plain.body).error.data.auth.code).toBe("ERR_AUTH_DPOP_REQUIRED");
  });

  it("answers 401 invalid_dpop_proof with the algorithms, for each link type and HEAD", async () => {
    const token = await boundToken(stack);
    const cases: Array<[string, string, [string, string][]]> = [
      ["GET", "whoami", []],
      ["GET", "whoami,items.list?batch=1&input=%7B%7D", [["trpc-accept", "application/jsonl"]]],
      ["HEAD", "whoami", []],
    ];
    for (const [method, target, headers] of cases) {
      const answer = await sendDpop(stack, method, target, token, {
        htu: `${stack.api.url}/trpc/another`,
        headers,
      });
      expect(answer.status, `${method} ${target}`).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe(
        `DPoP realm="api", error="invalid_dpop_proof", error_description="The DPoP proof is for another URL", algs="${DPOP_ALGS}"`,
      );
    }
    // The proof of a HEAD names HEAD, though the API serves it as a GET.
    expect((await sendDpop(stack, "HEAD", "whoami", token)).status).toBe(200);
  });

  it("answers 400 for two DPoP headers", async () => {
    const token = await boundToken(stack);
    const second = signProof(proofKey, {
      url: `${stack.api.url}/trpc/whoami`,
      accessToken: token,
      iat: nowSeconds(),
    });
    const answer = await sendDpop(stack, "GET", "whoami", token, { headers: [["dpop", second]] });
    expect(answer.status).toBe(400);
    expect(answer.headers["www-authenticate"]).toBe(
      `DPoP realm="api", error="invalid_request", algs="${DPOP_ALGS}"`,
    );
  });

  it("keeps scope failures at 403, in the DPoP scheme", async () => {
    const token = await boundToken(stack);
    const answer = await sendDpop(stack, "POST", "items.create", token, {
      headers: [["content-type", "application/json"]],
      body: JSON.stringify({ name: "x" }),
    });
    expect(answer.status).toBe(403);
    expect(answer.headers["www-authenticate"]).toBe(
      `DPoP realm="api", error="insufficient_scope", scope="write:items", algs="${DPOP_ALGS}"`,
    );
  });

  it("refuses a token bound to another key", async () => {
    const token = await boundToken(stack, otherKey);
    const answer = await sendDpop(stack, "GET", "whoami", token);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body).error.data.auth.reason).toBe("dpop_binding");
  });

  it("accepts exactly one of 50 parallel replays of one proof", async () => {
    const token = await boundToken(stack);
    const proof = signProof(proofKey, {
      url: `${stack.api.url}/trpc/whoami`,
      accessToken: token,
      iat: nowSeconds(),
    });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        sendRaw(stack.api.url, {
          method: "GET",
          target: "/trpc/whoami",
          headers: [
            ["authorization", `DPoP ${token}`],
            ["dpop", proof],
          ],
        }),
      ),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    for (const answer of answers.filter((each) => each.status !== 200)) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.data.auth.proofReason).toBe("replay");
    }
  });

  it("never logs a proof or a token", async () => {
    const token = await boundToken(stack);
    const jktOf = await thumbprintOf(proofKey);
    await sendDpop(stack, "GET", "whoami", token);
    await sendDpop(stack, "GET", "whoami", token, { htu: "http://elsewhere/trpc/whoami" });
    const text = stack.logs.lines.join("\n");
    expect(text).not.toContain(token.split(".")[2]);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
    // What it logs instead: the key's thumbprint, and which check a refused proof failed.
    const requests = stack.logs.records().filter((record) => record.msg === "request");
    expect(requests.some((record) => record.dpopJkt === jktOf)).toBe(true);
    expect(requests.some((record) => record.authReason === "htu")).toBe(true);
  });
});

describe("DPOP=required and DPOP=disabled", () => {
  it("required: refuses bearer tokens with a DPoP challenge, serves DPoP", async () => {
    const stack = await started({ DPOP: "required" });
    try {
      const answer = await sendRaw(stack.api.url, {
        method: "GET",
        target: "/trpc/whoami",
        headers: [["authorization", await stack.bearer()]],
      });
      expect(answer.status).toBe(401);
      expect(answer.headers["www-authenticate"]).toBe(`DPoP realm="api", algs="${DPOP_ALGS}"`);
      const none = await sendRaw(stack.api.url, { method: "GET", target: "/trpc/whoami" });
      expect(none.headers["www-authenticate"]).toBe(`DPoP realm="api", algs="${DPOP_ALGS}"`);
      expect((await sendDpop(stack, "GET", "whoami", await boundToken(stack))).status).toBe(200);
    } finally {
      await stack.close();
    }
  });

  it("disabled: the DPoP scheme is refused, and bound tokens too", async () => {
    const stack = await started({ DPOP: "disabled" });
    try {
      const token = await boundToken(stack);
      const dpop = await sendDpop(stack, "GET", "whoami", token);
      expect(dpop.status).toBe(401);
      expect(dpop.headers["www-authenticate"]).toBe('Bearer realm="api"');
      const bearer = await sendRaw(stack.api.url, {
        method: "GET",
        target: "/trpc/whoami",
        headers: [["authorization", `Bearer ${token}`]],
      });
      expect(bearer.status).toBe(401);
      expect(JSON.parse(bearer.body).error.data.auth.reason).toBe("dpop_bound");
    } finally {
      await stack.close();
    }
  });
});

describe("PUBLIC_URL", () => {
  it("checks htu against the public URL behind a proxy, not the URL the API listens on", async () => {
    const stack = await started({ PUBLIC_URL: "https://api.example.com/v1/" });
    try {
      const token = await boundToken(stack);
      const viaProxy = await sendDpop(stack, "GET", "whoami?input=%7B%7D", token, {
        htu: "https://api.example.com/v1/trpc/whoami",
      });
      expect(viaProxy.status).toBe(200);
      const direct = await sendDpop(stack, "GET", "whoami", token);
      expect(direct.status).toBe(401);
    } finally {
      await stack.close();
    }
  });

  it("refuses a PUBLIC_URL that is not an absolute http(s) URL", async () => {
    await expect(started({ PUBLIC_URL: "api.example.com" })).rejects.toThrow(/PUBLIC_URL/);
  });
});

describe("DPOP_NONCE=on", () => {
  it("asks for a nonce, accepts it, and offers a fresh one on a success once the window rolls", async () => {
    let clock = Date.now();
    const stack = await startSignedApi(
      { now: () => clock },
      { DPOP_NONCE: "on", DPOP_NONCE_SECRET: "s".repeat(32) },
    );
    try {
      await waitFor(async () => (await fetch(`${stack.api.url}/readyz`)).status === 200, "keys");
      const token = await boundToken(stack);
      const send = (nonce?: string) =>
        sendRaw(stack.api.url, {
          method: "GET",
          target: "/trpc/whoami",
          headers: [
            ["authorization", `DPoP ${token}`],
            [
              "dpop",
              signProof(proofKey, {
                url: `${stack.api.url}/trpc/whoami`,
                accessToken: token,
                iat: Math.floor(clock / 1000),
                nonce,
              }),
            ],
          ],
        });
      const asked = await send();
      expect(asked.status).toBe(401);
      expect(asked.headers["www-authenticate"]).toBe(
        `DPoP realm="api", error="use_dpop_nonce", error_description="The DPoP proof must carry the server's nonce", algs="${DPOP_ALGS}"`,
      );
      const nonce = asked.headers["dpop-nonce"] as string;
      const accepted = await send(nonce);
      expect(accepted.status).toBe(200);
      expect(accepted.headers["dpop-nonce"]).toBeUndefined();

      clock += 300_000;
      const rolled = await send(nonce);
      expect(rolled.status).toBe(200);
      const fresh = rolled.headers["dpop-nonce"] as string;
      expect(fresh).toMatch(/^[A-Za-z0-9_-]{30}$/);
      expect(fresh).not.toBe(nonce);
      expect((await send(fresh)).status).toBe(200);

      clock += 300_000;
      const expired = await send(nonce);
      expect(expired.status).toBe(401);
      const current = expired.headers["dpop-nonce"] as string;
      expect([nonce, fresh]).not.toContain(current);
      expect((await send(current)).status).toBe(200);
    } finally {
      await stack.close();
    }
  });

  it("refuses DPOP_NONCE_SECRET shorter than 32 characters at start", async () => {
    await expect(started({ DPOP_NONCE: "on", DPOP_NONCE_SECRET: "short" })).rejects.toThrow(
      /DPOP_NONCE_SECRET/,
    );
  });
});
