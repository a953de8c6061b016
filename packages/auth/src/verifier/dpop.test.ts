import {
  athOf,
  generateTestKey,
  publicMembers,
  signBytes,
  signProof,
  type TestKey,
  thumbprintOf,
} from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authErrorOf } from "../../test/support/expect-auth-error.js";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import {
  AuthError,
  DpopRequiredError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  ReplayStoreUnavailableError,
  UseDpopNonceError,
} from "../errors.js";
import { buildAuthErrorHeaders } from "../http.js";
import type { AccessTokenVerifier, DpopVerifierOptions } from "./types.js";

const URL_ = "https://api.example.local/trpc/whoami";
const issuerKey = generateTestKey("issuer", { alg: "RS256" });
const proofKeys: Record<string, TestKey> = {
  ES256: generateTestKey("p256", { alg: "ES256" }),
  ES384: generateTestKey("p384", { alg: "ES384" }),
  RS256: generateTestKey("rsa", { alg: "RS256" }),
  PS256: generateTestKey("pss", { alg: "PS256" }),
  EdDSA: generateTestKey("ed", { alg: "EdDSA" }),
};
const es256 = proofKeys.ES256 as TestKey;
const other = generateTestKey("other", { alg: "ES256" });

let fixture: VerifierFixture;
let verifier: AccessTokenVerifier;

beforeAll(async () => {
  fixture = await createVerifierFixture([issuerKey]);
  verifier = fixture.build({});
});
afterAll(() => fixture.close());

const now = () => fixture.clock.seconds();

/** An access token bound to `key` (`cnf.jkt`), or unbound with `null`. */
async function tokenFor(key: TestKey | null, payload: Record<string, unknown> = {}) {
  const cnf = key === null ? {} : { cnf: { jkt: await thumbprintOf(key) } };
  return fixture.token(issuerKey, { payload: { ...cnf, ...payload } });
}

function request(token: string, proof: string | string[] | undefined, extra = {}) {
  return {
    method: "GET",
    url: URL_,
    headers: { authorization: `DPoP ${token}`, ...(proof === undefined ? {} : { dpop: proof }) },
    ...extra,
  };
}

async function proofReason(promise: Promise<unknown>): Promise<string> {
  const error = await authErrorOf(promise);
  if (error instanceof InvalidDpopProofError) return error.reason;
  if (error instanceof InvalidTokenError) return `token:${error.reason}`;
  return error.code;
}

describe("verifier.authenticateRequest with DPoP (RFC 9449 §4.3, §7)", () => {
  it.each(Object.keys(proofKeys))("accepts a valid %s proof bound to the token", async (alg) => {
    const key = proofKeys[alg] as TestKey;
    const token = await tokenFor(key);
    const proof = signProof(key, { url: URL_, accessToken: token, iat: now() });
    const claims = await verifier.authenticateRequest(request(token, proof));
    expect(claims.sub).toBe("client-1@clients");
    expect(claims.dpop).toEqual({ jkt: await thumbprintOf(key) });
  });

  it("accepts the headers as a Headers object, and ignores the request's query and fragment", async () => {
    const token = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const claims = await verifier.authenticateRequest({
      method: "GET",
      url: `${URL_}?input=%7B%7D#part`,
      headers: new Headers({ Authorization: `dpop ${token}`, DPoP: proof }),
    });
    expect(claims.dpop?.jkt).toBe(await thumbprintOf(es256));
  });

  it("compares htu after URL normalisation: case of scheme and host, default port", async () => {
    const token = await tokenFor(es256);
    const proof = signProof(es256, {
      url: "HTTPS://API.example.local:443/trpc/whoami",
      accessToken: token,
      iat: now(),
    });
    await expect(verifier.authenticateRequest(request(token, proof))).resolves.toBeDefined();
  });

  it.each([
    ["typ JWT", { header: { typ: "JWT" } }, "type"],
    ["typ missing", { header: { typ: undefined } }, "type"],
    ["alg none", { header: { alg: "none" } }, "algorithm"],
    ["alg HS256", { header: { alg: "HS256" } }, "algorithm"],
    ["crit", { header: { crit: ["exp"] } }, "header"],
    ["no jwk", { header: { jwk: undefined } }, "jwk"],
    ["a jwk that is a string", { header: { jwk: "key" } }, "jwk"],
    ["a private jwk", { header: { jwk: { ...es256.publicJwk, d: "AAAA" } } }, "jwk"],
    [
      "a jwk of another key type than alg",
      { header: { jwk: publicMembers(other), alg: "RS256" } },
      "jwk",
    ],
    [
      "a jwk whose point is off the curve",
      { header: { jwk: { ...publicMembers(es256), y: publicMembers(other).y } } },
      "jwk",
    ],
    ["a signature by another key", { header: { jwk: publicMembers(other) } }, "signature"],
    ["htm of another method", { method: "POST" }, "htm"],
    ["htu of another path", { url: "https://api.example.local/trpc/items.list" }, "htu"],
    ["htu of another host", { url: "https://evil.example/trpc/whoami" }, "htu"],
    ["htu of another port", { url: "https://api.example.local:8443/trpc/whoami" }, "htu"],
    ["htu of another scheme", { url: "http://api.example.local/trpc/whoami" }, "htu"],
    ["htu that is no URL", { url: "/trpc/whoami" }, "htu"],
    ["iat 61 s old", { iatOffset: -61 }, "iat"],
    ["iat 61 s ahead", { iatOffset: 61 }, "iat"],
    ["iat as a string", { payload: { iat: "now" } }, "iat"],
    ["no ath", { payload: { ath: undefined } }, "ath"],
    ["ath of another token", { payload: { ath: athOf("another.token.value") } }, "ath"],
    ["no jti", { payload: { jti: undefined } }, "jti"],
    ["an empty jti", { jti: "" }, "jti"],
    ["a jti of 257 characters", { jti: "j".repeat(257) }, "jti"],
  ])("refuses a proof with %s", async (_name, change, reason) => {
    const token = await tokenFor(es256);
    const { iatOffset, ...spec } = change as { iatOffset?: number };
    const proof = signProof(es256, {
      url: URL_,
      accessToken: token,
      iat: now() + (iatOffset ?? 0),
      ...spec,
    });
    const error = await authErrorOf(verifier.authenticateRequest(request(token, proof)));
    expect(error).toBeInstanceOf(InvalidDpopProofError);
    expect((error as InvalidDpopProofError).reason).toBe(reason);
    expect(error.status).toBe(401);
    expect(error.scheme).toBe("DPoP");
  });

  it("accepts iat at the edges of the window (±60 s) and a configured window", async () => {
    const token = await tokenFor(es256);
    for (const offset of [-60, 60]) {
      const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() + offset });
      await expect(verifier.authenticateRequest(request(token, proof))).resolves.toBeDefined();
    }
    const narrow = fixture.build({ dpop: { iatWindow: 5 } });
    const late = signProof(es256, { url: URL_, accessToken: token, iat: now() - 6 });
    expect(await proofReason(narrow.authenticateRequest(request(token, late)))).toBe("iat");
  });

  it("refuses algorithms outside a configured allow-list, and names the list in the challenge", async () => {
    const strict = fixture.build({ dpop: { algorithms: ["ES256"] } });
    const key = proofKeys.ES384 as TestKey;
    const token = await tokenFor(key);
    const proof = signProof(key, { url: URL_, accessToken: token, iat: now() });
    const error = await authErrorOf(strict.authenticateRequest(request(token, proof)));
    expect((error as InvalidDpopProofError).reason).toBe("algorithm");
    expect(buildAuthErrorHeaders(error, { dpop: strict.dpopChallenge })).toEqual({
      "WWW-Authenticate":
        'DPoP realm="api", error="invalid_dpop_proof", error_description="The DPoP proof is signed with an algorithm that is not allowed", algs="ES256"',
    });
  });

  it("refuses a malformed proof, an oversized one, and a missing one", async () => {
    const token = await tokenFor(es256);
    expect(await proofReason(verifier.authenticateRequest(request(token, "a.b")))).toBe(
      "malformed",
    );
    const big = signProof(es256, {
      url: URL_,
      accessToken: token,
      iat: now(),
      payload: { pad: "x".repeat(9000) },
    });
    expect(await proofReason(verifier.authenticateRequest(request(token, big)))).toBe("malformed");
    expect(await proofReason(verifier.authenticateRequest(request(token, undefined)))).toBe(
      "missing",
    );
  });

  it("answers 400 invalid_request for two DPoP headers, as a list or joined by a comma", async () => {
    const token = await tokenFor(es256);
    const one = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const two = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    for (const proof of [[one, two], `${one}, ${two}`]) {
      const error = await authErrorOf(verifier.authenticateRequest(request(token, proof)));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.status).toBe(400);
    }
  });

  it("refuses a second use of a proof (jti), and accepts a new proof for the same request", async () => {
    const token = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    await verifier.authenticateRequest(request(token, proof));
    expect(await proofReason(verifier.authenticateRequest(request(token, proof)))).toBe("replay");
    const fresh = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    await expect(verifier.authenticateRequest(request(token, fresh))).resolves.toBeDefined();
  });

  it("accepts exactly one of 50 parallel replays of one proof", async () => {
    const racing = fixture.build({ dpop: {} });
    const token = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => racing.authenticateRequest(request(token, proof))),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
    for (const result of results) {
      if (result.status === "rejected") {
        expect((result.reason as InvalidDpopProofError).reason).toBe("replay");
      }
    }
  });

  it("does not spend a proof's jti on a request that fails otherwise", async () => {
    const token = await tokenFor(es256);
    const jti = "kept-for-the-real-request";
    const expired = await tokenFor(es256, { exp: now() - 100 });
    const first = signProof(es256, { url: URL_, accessToken: expired, iat: now(), jti });
    expect(await proofReason(verifier.authenticateRequest(request(expired, first)))).toBe(
      "token:expired",
    );
    const second = signProof(es256, { url: URL_, accessToken: token, iat: now(), jti });
    await expect(verifier.authenticateRequest(request(token, second))).resolves.toBeDefined();
  });

  it("refuses a bound token as a bearer token, through every entry point", async () => {
    const token = await tokenFor(es256);
    const bearer = { method: "GET", url: URL_, headers: { authorization: `Bearer ${token}` } };
    expect(await proofReason(verifier.authenticateRequest(bearer))).toBe("token:dpop_bound");
    expect(await proofReason(verifier.authenticate(`Bearer ${token}`))).toBe("token:dpop_bound");
    expect(await proofReason(verifier.verify(token))).toBe("token:dpop_bound");
    // Even with a valid proof beside it: the Bearer scheme carries no proof.
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const withProof = { ...bearer, headers: { ...bearer.headers, dpop: proof } };
    expect(await proofReason(verifier.authenticateRequest(withProof))).toBe("token:dpop_bound");
  });

  it("refuses an unbound token, or one bound to another key, with the DPoP scheme", async () => {
    for (const token of [await tokenFor(null), await tokenFor(other)]) {
      const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
      const error = await authErrorOf(verifier.authenticateRequest(request(token, proof)));
      expect((error as InvalidTokenError).reason).toBe("dpop_binding");
      expect(error.scheme).toBe("DPoP");
    }
  });

  it("writes a failing token's challenge in the DPoP scheme", async () => {
    const token = await tokenFor(es256, { aud: "https://other.example" });
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const error = await authErrorOf(verifier.authenticateRequest(request(token, proof)));
    expect(buildAuthErrorHeaders(error, { dpop: verifier.dpopChallenge })).toEqual({
      "WWW-Authenticate":
        'DPoP realm="api", error="invalid_token", error_description="The access token audience is not accepted", algs="ES256 ES384 ES512 EdDSA Ed25519 RS256 PS256"',
    });
  });

  it("keeps unbound bearer tokens working, and drops a token's own `dpop` claim", async () => {
    const token = await tokenFor(null, { dpop: { jkt: "made-up" } });
    const claims = await verifier.authenticateRequest({
      method: "GET",
      url: URL_,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(claims.sub).toBe("client-1@clients");
    expect(claims.dpop).toBeUndefined();
  });
});

describe("DPoP modes", () => {
  const noCredentials = { method: "GET", url: URL_, headers: {} };

  it("allowed: a request without credentials is challenged in both schemes", async () => {
    const error = await authErrorOf(verifier.authenticateRequest(noCredentials));
    expect(error).toBeInstanceOf(MissingTokenError);
    expect(buildAuthErrorHeaders(error, { dpop: verifier.dpopChallenge })).toEqual({
      "WWW-Authenticate":
        'Bearer realm="api", DPoP realm="api", algs="ES256 ES384 ES512 EdDSA Ed25519 RS256 PS256"',
    });
  });

  it("required: bearer tokens are refused with a DPoP challenge", async () => {
    const required = fixture.build({ dpop: { mode: "required", algorithms: ["ES256"] } });
    const token = await tokenFor(null);
    const bearer = { method: "GET", url: URL_, headers: { authorization: `Bearer ${token}` } };
    const error = await authErrorOf(required.authenticateRequest(bearer));
    expect(error).toBeInstanceOf(DpopRequiredError);
    expect(error.status).toBe(401);
    expect(buildAuthErrorHeaders(error, { dpop: required.dpopChallenge })).toEqual({
      "WWW-Authenticate": 'DPoP realm="api", algs="ES256"',
    });
    const missing = await authErrorOf(required.authenticateRequest(noCredentials));
    expect(buildAuthErrorHeaders(missing, { dpop: required.dpopChallenge })).toEqual({
      "WWW-Authenticate": 'DPoP realm="api", algs="ES256"',
    });
    const bound = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: bound, iat: now() });
    await expect(required.authenticateRequest(request(bound, proof))).resolves.toBeDefined();
  });

  it("disabled: the DPoP scheme is an unknown one, and bound tokens are still refused", async () => {
    const disabled = fixture.build({ dpop: { mode: "disabled" } });
    const bound = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: bound, iat: now() });
    const error = await authErrorOf(disabled.authenticateRequest(request(bound, proof)));
    expect(error).toBeInstanceOf(MissingTokenError);
    expect(buildAuthErrorHeaders(error, { dpop: disabled.dpopChallenge })).toEqual({
      "WWW-Authenticate": 'Bearer realm="api"',
    });
    const bearer = { method: "GET", url: URL_, headers: { authorization: `Bearer ${bound}` } };
    expect(await proofReason(disabled.authenticateRequest(bearer))).toBe("token:dpop_bound");
  });

  it("refuses bad DPoP settings at construction", () => {
    const bad: DpopVerifierOptions[] = [
      { mode: "sometimes" as "allowed" },
      { algorithms: [] },
      { algorithms: ["HS256" as "ES256"] },
      { iatWindow: 0 },
      { nonce: { secret: "short" } },
    ];
    for (const dpop of bad) expect(() => fixture.build({ dpop })).toThrow(TypeError);
  });
});

describe("DPoP replay store failures", () => {
  it("answers 503 when the replay store cannot answer, and never accepts the proof", async () => {
    const broken = fixture.build({
      dpop: { replayStore: { claim: () => Promise.reject(new Error("connection refused")) } },
    });
    const token = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const error = await authErrorOf(broken.authenticateRequest(request(token, proof)));
    expect(error).toBeInstanceOf(ReplayStoreUnavailableError);
    expect(error.status).toBe(503);
    expect(buildAuthErrorHeaders(error)).toEqual({ "Retry-After": "1" });
  });
});

describe("DPoP server nonces (RFC 9449 §8, §9)", () => {
  const secret = "a-secret-of-at-least-32-characters!!";
  const nonceOptions = { secret, window: 300 };

  async function proofWith(nonce: string | undefined) {
    const token = await tokenFor(es256);
    return { token, proof: signProof(es256, { url: URL_, accessToken: token, iat: now(), nonce }) };
  }

  it("asks for a nonce with 401 use_dpop_nonce and a DPoP-Nonce header, then accepts it", async () => {
    const api = fixture.build({ dpop: { nonce: nonceOptions } });
    const first = await proofWith(undefined);
    const error = await authErrorOf(api.authenticateRequest(request(first.token, first.proof)));
    expect(error).toBeInstanceOf(UseDpopNonceError);
    const headers = buildAuthErrorHeaders(error, { dpop: api.dpopChallenge });
    expect(headers["WWW-Authenticate"]).toMatch(/^DPoP realm="api", error="use_dpop_nonce"/);
    const nonce = headers["DPoP-Nonce"] as string;
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{30}$/);
    const second = await proofWith(nonce);
    const claims = await api.authenticateRequest(request(second.token, second.proof));
    expect(claims.dpop).toEqual({ jkt: await thumbprintOf(es256) });
  });

  it("accepts one instance's nonce on another with the same secret, and rotates it", async () => {
    const a = fixture.build({ dpop: { nonce: nonceOptions } });
    const b = fixture.build({ dpop: { nonce: nonceOptions } });
    const stranger = fixture.build({
      dpop: { nonce: { secret: "another-secret-of-32-characters-or-more", window: 300 } },
    });
    const asked = await proofWith(undefined);
    const nonce = (
      (await authErrorOf(
        a.authenticateRequest(request(asked.token, asked.proof)),
      )) as UseDpopNonceError
    ).nonce;

    const onB = await proofWith(nonce);
    expect(
      (await b.authenticateRequest(request(onB.token, onB.proof))).dpop?.nextNonce,
    ).toBeUndefined();
    const onStranger = await proofWith(nonce);
    expect(
      await authErrorOf(stranger.authenticateRequest(request(onStranger.token, onStranger.proof))),
    ).toBeInstanceOf(UseDpopNonceError);

    // One window later the nonce is the previous one: still accepted, and a fresh one is offered.
    fixture.clock.advance(300_000);
    const later = await proofWith(nonce);
    const claims = await b.authenticateRequest(request(later.token, later.proof));
    const next = claims.dpop?.nextNonce;
    expect(next).toMatch(/^[A-Za-z0-9_-]{30}$/);
    expect(next).not.toBe(nonce);
    const withNext = await proofWith(next);
    expect(
      (await a.authenticateRequest(request(withNext.token, withNext.proof))).dpop?.nextNonce,
    ).toBeUndefined();

    // Two windows later it has expired.
    fixture.clock.advance(300_000);
    const expired = await proofWith(nonce);
    const error = await authErrorOf(a.authenticateRequest(request(expired.token, expired.proof)));
    expect(error).toBeInstanceOf(UseDpopNonceError);
    expect([nonce, next]).not.toContain((error as UseDpopNonceError).nonce);
  });

  it("refuses a nonce that is not one of ours, whatever its shape", async () => {
    const api = fixture.build({ dpop: { nonce: nonceOptions } });
    for (const nonce of ["", "x".repeat(30), "not base64url!!!!!!!!!!!!!!!!!"]) {
      const attempt = await proofWith(nonce);
      expect(
        await authErrorOf(api.authenticateRequest(request(attempt.token, attempt.proof))),
      ).toBeInstanceOf(UseDpopNonceError);
    }
  });
});

describe("DPoP errors never carry the proof or the token", () => {
  it("keeps messages free of request material", async () => {
    const token = await tokenFor(es256);
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now(), method: "PUT" });
    const error = await authErrorOf(verifier.authenticateRequest(request(token, proof)));
    expect(error).toBeInstanceOf(AuthError);
    const text = `${error.message} ${JSON.stringify(buildAuthErrorHeaders(error))}`;
    expect(text).not.toContain(token.slice(-20));
    expect(text).not.toContain(proof.slice(-20));
  });

  it("refuses a proof signed with a key other than its header's, also once that header is known", async () => {
    const token = await tokenFor(es256);
    // A valid proof first: its header (and key) are then remembered, and must not vouch for more.
    const valid = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    await verifier.authenticateRequest(request(token, valid));
    const proof = signProof(es256, { url: URL_, accessToken: token, iat: now() });
    const [header, payload] = proof.split(".");
    const forged = `${header}.${payload}.${signBytes("ES256", other.privateKey, `${header}.${payload}`).toString("base64url")}`;
    expect(await proofReason(verifier.authenticateRequest(request(token, forged)))).toBe(
      "signature",
    );
  });
});
