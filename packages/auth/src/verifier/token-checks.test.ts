import { createHmac, sign } from "node:crypto";
import {
  b64url,
  claimsFor,
  generateTestKey,
  type JwksServer,
  signBytes,
  signToken,
  startJwksServer,
  type TestKey,
} from "@repo/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authErrorOf, reasonOf } from "../../test/support/expect-auth-error.js";
import {
  AUDIENCE,
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { InvalidTokenError } from "../errors.js";
import { createAccessTokenVerifier } from "./create-access-token-verifier.js";

const rsa = generateTestKey("rsa-1");
const rsaTwin = generateTestKey("twin");
const rsaTwin2 = generateTestKey("twin");
const noKid = generateTestKey("");
const pss = generateTestKey("pss-1", { alg: "PS256" });
const es256 = generateTestKey("es256", { alg: "ES256" });
const es384 = generateTestKey("es384", { alg: "ES384" });
const es512 = generateTestKey("es512", { alg: "ES512" });
const ed = generateTestKey("ed", { alg: "EdDSA" });
const small = generateTestKey("small", { alg: "RS256", bits: 1024 });
const attacker = generateTestKey("rsa-1");
const ALL = [rsa, rsaTwin, rsaTwin2, pss, es256, es384, es512, ed, small];

let fx: VerifierFixture;
let evil: JwksServer;

beforeAll(async () => {
  fx = await createVerifierFixture(ALL);
  evil = await startJwksServer([attacker.publicJwk]);
  // Long cooldown: a token with an unknown kid must not cause refetches within one test file.
  fx.verifier.close();
});
afterAll(async () => {
  await fx.close();
  await evil.close();
});

const verifierFor = (options: Parameters<VerifierFixture["build"]>[0] = {}) =>
  fx.build({ jwksCooldown: 3_600_000, ...options });

function token(
  key: TestKey,
  header: Record<string, unknown> = {},
  payload: Record<string, unknown> = {},
) {
  return fx.token(key, { header, payload });
}

function rawToken(header: unknown, payload: unknown, signature = "c2ln"): string {
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${signature}`;
}

/** A token whose header and payload are exactly these bytes (or base64url text), signed by `rsa`. */
function signedBytes(header: Buffer | string, payload: Buffer | string): string {
  const encode = (part: Buffer | string) =>
    typeof part === "string" ? part : part.toString("base64url");
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${signBytes("RS256", rsa.privateKey, input).toString("base64url")}`;
}

const RSA_HEADER = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: "rsa-1" }));
const claimsJson = (extra: Record<string, unknown> = {}) =>
  JSON.stringify(claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds(), extra));

/** `text` (base64url) with the unused low bits of its last character set: same bytes, new text. */
function withTrailingBits(text: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(text.slice(-1));
  const unused = text.length % 4 === 2 ? 0x0f : 0x03;
  if (text.length % 4 < 2) throw new Error("no unused bits in this length");
  return `${text.slice(0, -1)}${alphabet[last | unused]}`;
}

describe("valid tokens", () => {
  it.each([
    ["RS256", rsa],
    ["PS256", pss],
    ["ES256", es256],
    ["ES384", es384],
    ["ES512", es512],
    ["EdDSA", ed],
  ] as const)("verifies %s", async (alg, key) => {
    const verifier = verifierFor({ algorithms: [alg] });
    const claims = await verifier.verify(token(key));
    expect(claims).toMatchObject({ iss: fx.server.issuer, sub: "client-1@clients", aud: AUDIENCE });
    expect(Object.isFrozen(claims)).toBe(true);
  });

  it("accepts Ed25519 as the algorithm name for Ed25519 keys", async () => {
    const verifier = verifierFor({ algorithms: ["Ed25519"] });
    await expect(verifier.verify(token(ed, { alg: "Ed25519" }))).resolves.toMatchObject({
      sub: "client-1@clients",
    });
  });

  it("accepts an aud array that contains the audience, and any configured audience", async () => {
    const verifier = verifierFor({ audience: ["https://other.example", AUDIENCE] });
    await expect(verifier.verify(token(rsa, {}, { aud: ["x", AUDIENCE] }))).resolves.toBeDefined();
    await expect(
      verifier.verify(token(rsa, {}, { aud: "https://other.example" })),
    ).resolves.toBeDefined();
  });

  it("tries every key sharing a kid", async () => {
    await expect(verifierFor().verify(token(rsaTwin2))).resolves.toBeDefined();
    await expect(verifierFor().verify(token(rsaTwin))).resolves.toBeDefined();
  });

  it("without a kid, tries each key usable with the alg", async () => {
    const verifier = verifierFor();
    const withoutKid = (key: TestKey) =>
      signToken(key, {
        header: { kid: undefined },
        payload: claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()),
      });
    await expect(verifier.verify(withoutKid(rsaTwin))).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(withoutKid(noKid)))).toBe("signature");
  });

  it("returns frozen claims, nested values included", async () => {
    const claims = await verifierFor().verify(
      token(rsa, {}, { permissions: ["a"], ext: { deep: [1] } }),
    );
    expect(Object.isFrozen(claims.permissions)).toBe(true);
    expect(Object.isFrozen((claims.ext as { deep: number[] }).deep)).toBe(true);
  });
});

describe("algorithm attacks", () => {
  it.each(["none", "None", "NONE", "nOnE", "NoNe"])(
    "refuses alg %s, with or without a signature",
    async (alg) => {
      const verifier = verifierFor();
      const payload = claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds());
      const unsigned = `${b64url({ alg, typ: "JWT" })}.${b64url(payload)}.`;
      expect(await reasonOf(verifier.verify(unsigned))).toBe("malformed");
      expect(await reasonOf(verifier.verify(`${unsigned}c2ln`))).toBe("algorithm");
      expect(await reasonOf(verifier.verify(rawToken({ alg, kid: rsa.kid }, payload)))).toBe(
        "algorithm",
      );
    },
  );

  it("refuses HS256 signed with the RSA public key as the secret (PEM, DER and JWK forms)", async () => {
    const verifier = verifierFor({ algorithms: ["RS256", "PS256"] });
    const secrets = [
      rsa.publicKey.export({ format: "pem", type: "spki" }),
      rsa.publicKey.export({ format: "der", type: "spki" }),
      rsa.publicKey.export({ format: "pem", type: "pkcs1" }),
      JSON.stringify(rsa.publicJwk),
      JSON.stringify(rsa.publicKey.export({ format: "jwk" })),
    ];
    for (const secret of secrets) {
      for (const alg of ["HS256", "HS384", "HS512"]) {
        const input = `${b64url({ alg, typ: "JWT", kid: rsa.kid })}.${b64url(claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()))}`;
        const mac = createHmac(`sha${alg.slice(2)}`, secret)
          .update(input)
          .digest("base64url");
        expect(await reasonOf(verifier.verify(`${input}.${mac}`))).toBe("algorithm");
      }
    }
  });

  it("refuses to build with symmetric or unknown algorithms", () => {
    for (const alg of [
      "HS256",
      "none",
      "rs256",
      "RSA-OAEP",
      "constructor",
      "__proto__",
      "valueOf",
    ]) {
      expect(() =>
        createAccessTokenVerifier({
          issuer: "https://issuer.example/",
          jwksUri: "https://issuer.example/jwks",
          audience: AUDIENCE,
          algorithms: [alg as "RS256"],
        }),
      ).toThrow(TypeError);
    }
  });

  it.each(["constructor", "__proto__", "valueOf", "toString"])(
    "refuses alg %s, an Object.prototype member's name",
    async (alg) => {
      const verifier = verifierFor();
      const payload = claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds());
      expect(await reasonOf(verifier.verify(rawToken({ alg, kid: rsa.kid }, payload)))).toBe(
        "algorithm",
      );
    },
  );

  it("refuses an allowed key used with an algorithm outside the allow-list", async () => {
    const verifier = verifierFor({ algorithms: ["RS256"] });
    expect(await reasonOf(verifier.verify(token(pss)))).toBe("algorithm");
    expect(await reasonOf(verifier.verify(token(es256)))).toBe("algorithm");
    const rs384 = signToken(
      { ...rsa, alg: "RS384" },
      { payload: claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()) },
    );
    expect(await reasonOf(verifier.verify(rs384))).toBe("algorithm");
  });

  it("refuses an alg the JWK does not declare, even when both are allowed", async () => {
    const verifier = verifierFor({ algorithms: ["RS256", "RS384", "PS256"] });
    const rs384 = signToken(
      { ...rsa, alg: "RS384" },
      { payload: claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()) },
    );
    expect(await reasonOf(verifier.verify(rs384))).toBe("unknown_key");
    const asPss = signToken(
      { ...rsa, alg: "PS256" },
      { payload: claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()) },
    );
    expect(await reasonOf(verifier.verify(asPss))).toBe("unknown_key");
  });

  it("refuses ECDSA signatures of zeros, of the wrong size, or DER-encoded", async () => {
    const verifier = verifierFor({ algorithms: ["ES256", "ES384", "ES512"] });
    for (const [key, size] of [
      [es256, 64],
      [es384, 96],
      [es512, 132],
    ] as const) {
      const [h, p] = token(key).split(".");
      expect(
        await reasonOf(verifier.verify(`${h}.${p}.${Buffer.alloc(size).toString("base64url")}`)),
      ).toBe("signature");
      expect(
        await reasonOf(
          verifier.verify(`${h}.${p}.${Buffer.alloc(size - 1, 1).toString("base64url")}`),
        ),
      ).toBe("signature");
    }
    const [h, p] = token(es256).split(".");
    const der = sign("sha256", Buffer.from(`${h}.${p}`), es256.privateKey).toString("base64url");
    expect(await reasonOf(verifier.verify(`${h}.${p}.${der}`))).toBe("signature");
  });

  it("refuses RSA keys under 2048 bits", async () => {
    expect(await reasonOf(verifierFor().verify(token(small)))).toBe("unknown_key");
  });
});

describe("keys named by the token itself", () => {
  it("never fetches or uses jwk, jku, x5u or x5c", async () => {
    const verifier = verifierFor();
    const before = evil.total();
    const attackerCert = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
    const headers = [
      { jwk: attacker.publicJwk },
      { jku: evil.jwksUri },
      { x5u: `${evil.origin}/cert.pem` },
      { x5c: [attackerCert] },
      {
        jwk: attacker.publicJwk,
        jku: evil.jwksUri,
        x5u: `${evil.origin}/cert.pem`,
        kid: undefined,
      },
    ];
    for (const header of headers) {
      const forged = signToken(attacker, {
        header,
        payload: claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()),
      });
      const error = await authErrorOf(verifier.verify(forged));
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect(["signature", "unknown_key"]).toContain((error as InvalidTokenError).reason);
    }
    expect(evil.total()).toBe(before);
  });
});

describe("kid values", () => {
  it.each([
    "../../../../etc/passwd",
    "' OR '1'='1",
    "__proto__",
    "constructor",
    "toString",
    "rsa-1\u0000",
    "rsa-1 ",
    "RSA-1",
    ["$", "{jndi:ldap://127.0.0.1/a}"].join(""),
  ])("treats kid %j as an opaque unknown name", async (kid) => {
    const forged = token(rsa, { kid });
    expect(await reasonOf(verifierFor().verify(forged))).toBe("unknown_key");
  });

  it("treats a very long kid as an opaque unknown name", async () => {
    expect(await reasonOf(verifierFor().verify(token(rsa, { kid: "x".repeat(2000) })))).toBe(
      "unknown_key",
    );
  });

  it.each([42, null, { $ne: "" }, ["rsa-1"], true])("refuses a non-string kid %j", async (kid) => {
    expect(await reasonOf(verifierFor().verify(token(rsa, { kid })))).toBe("malformed");
  });
});

describe("structure", () => {
  const good = () => token(rsa);

  it("checks a header seen on a verified token again like any other", async () => {
    const verifier = verifierFor();
    const valid = token(rsa);
    await verifier.verify(valid);
    const [h, p] = valid.split(".");
    const forged = `${h}.${p}.${signBytes("RS256", attacker.privateKey, `${h}.${p}`).toString("base64url")}`;
    expect(await reasonOf(verifier.verify(forged))).toBe("signature");
    const other = `${h}.${b64url({ ...claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds()), exp: 1 })}`;
    const expired = `${other}.${signBytes("RS256", rsa.privateKey, other).toString("base64url")}`;
    expect(await reasonOf(verifier.verify(expired))).toBe("expired");
  });

  it("refuses tampered payloads and signatures", async () => {
    const verifier = verifierFor();
    const [h, , s] = good().split(".");
    const tampered = `${h}.${b64url(claimsFor(fx.server.issuer, AUDIENCE, fx.clock.seconds(), { scope: "admin" }))}.${s}`;
    expect(await reasonOf(verifier.verify(tampered))).toBe("signature");
    const [h2, p2, s2] = good().split(".");
    // Cut to a multiple of 4 characters: still canonical base64url, only the bytes are missing.
    expect(await reasonOf(verifier.verify(`${h2}.${p2}.${(s2 as string).slice(0, 340)}`))).toBe(
      "signature",
    );
    expect(await reasonOf(verifier.verify(`${h2}.${p2}.AAAA`))).toBe("signature");
    expect(await reasonOf(verifier.verify(`${h2}.${p2}.`))).toBe("malformed");
    const flipped = `${(s2 as string).slice(0, 10)}${(s2 as string)[10] === "A" ? "B" : "A"}${(s2 as string).slice(11)}`;
    expect(await reasonOf(verifier.verify(`${h2}.${p2}.${flipped}`))).toBe("signature");
  });

  it.each([
    ["empty", ""],
    ["one segment", "abc"],
    ["two segments", "abc.def"],
    ["four segments", "a.b.c.d"],
    ["a JWE (five segments)", "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d"],
    ["empty header", ".eyJ9.c2ln"],
    ["only dots", ".."],
  ])("refuses %s", async (_, value) => {
    expect(await reasonOf(verifierFor().verify(value))).toBe("malformed");
  });

  it("refuses non-base64url characters, padding and impossible lengths", async () => {
    const verifier = verifierFor();
    const [h, p, s] = good().split(".") as [string, string, string];
    const variants = [
      `${h}=.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h}.${p}.${s}+/`,
      `${h}.${p}.${s.replace(/-/g, "+").replace(/_/g, "/")}`,
      ` ${h}.${p}.${s}`,
      `${h}.${p} .${s}`,
      `${h}.${p}.${s}\n`,
      `${h}.${p}.${s}%`,
      `${h}.${p}.${s}é`,
      // base64url text of length 4n+1 decodes to nothing valid
      `${h}.${p}.${s.slice(0, s.length - (s.length % 4))}A`,
    ];
    for (const variant of variants) {
      if (variant === `${h}.${p}.${s}`) continue;
      expect(await reasonOf(verifier.verify(variant))).toBe("malformed");
    }
  });

  it.each([
    ["an array", []],
    ["a string", "claims"],
    ["a number", 42],
    ["null", null],
    ["true", true],
  ])("refuses a signed payload that is %s", async (_, payload) => {
    const input = `${b64url({ alg: "RS256", kid: rsa.kid })}.${b64url(JSON.stringify(payload))}`;
    const signed = `${input}.${signBytes("RS256", rsa.privateKey, input).toString("base64url")}`;
    expect(await reasonOf(verifierFor().verify(signed))).toBe("malformed");
  });

  it("refuses a payload or header that is not JSON", async () => {
    const input = `${b64url({ alg: "RS256", kid: rsa.kid })}.${b64url("{not json")}`;
    const signed = `${input}.${signBytes("RS256", rsa.privateKey, input).toString("base64url")}`;
    expect(await reasonOf(verifierFor().verify(signed))).toBe("malformed");
    expect(await reasonOf(verifierFor().verify(`${b64url("<html>")}.e30.c2ln`))).toBe("malformed");
    expect(await reasonOf(verifierFor().verify(`${b64url("[1]")}.e30.c2ln`))).toBe("malformed");
  });

  it("refuses crit, and b64: false", async () => {
    const verifier = verifierFor();
    for (const header of [
      { crit: ["exp"], exp: 1 },
      { crit: [] },
      { crit: "b64" },
      { b64: false, crit: ["b64"] },
      { b64: false },
    ]) {
      expect(await reasonOf(verifier.verify(token(rsa, header)))).toBe("header");
    }
  });

  it("refuses any cty: nested JWTs are not supported, and a plain payload is no nested JWT", async () => {
    const verifier = verifierFor();
    for (const cty of ["JWT", "jwt", "application/json", "", 1]) {
      expect(await reasonOf(verifier.verify(token(rsa, { cty })))).toBe("header");
    }
  });

  it("refuses a signed header or payload that is not UTF-8 (RFC 7519 §7.2, RFC 8259 §8.1)", async () => {
    const verifier = verifierFor();
    const payload = (bytes: number[]) => {
      const [before, after] = claimsJson({ sub: "\u0000" }).split("\\u0000");
      return Buffer.concat([
        Buffer.from(before ?? ""),
        Buffer.from(bytes),
        Buffer.from(after ?? ""),
      ]);
    };
    const invalid = [
      [0xff],
      [0x80], // a continuation byte alone
      [0xc0, 0xaf], // overlong "/"
      [0xe2, 0x82], // truncated sequence
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
    ];
    for (const bytes of invalid) {
      expect(await reasonOf(verifier.verify(signedBytes(RSA_HEADER, payload(bytes))))).toBe(
        "malformed",
      );
    }
    const header = Buffer.concat([
      RSA_HEADER.subarray(0, -1),
      Buffer.from(',"x":"\xff"}', "latin1"),
    ]);
    expect(await reasonOf(verifier.verify(signedBytes(header, Buffer.from(claimsJson()))))).toBe(
      "malformed",
    );
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(claimsJson())]);
    expect(await reasonOf(verifier.verify(signedBytes(RSA_HEADER, bom)))).toBe("malformed");
    await expect(
      verifier.verify(signedBytes(RSA_HEADER, payload([0xc3, 0xa9, 0xf0, 0x9f, 0x94, 0x91]))),
    ).resolves.toMatchObject({ sub: "é🔑" });
  });

  it("uses the lexically last of repeated member names, as JSON.parse and jose do (RFC 7515 §5.2, RFC 7519 §4)", async () => {
    const verifier = verifierFor();
    const repeated = (json: string, member: string, first: unknown) =>
      `{${JSON.stringify(member)}:${JSON.stringify(first)},${json.slice(1)}`;
    const claims = await verifier.verify(
      signedBytes(RSA_HEADER, Buffer.from(repeated(claimsJson(), "sub", "first"))),
    );
    expect(claims.sub).toBe("client-1@clients");
    const expiredLast = repeated(claimsJson({ exp: 1 }), "exp", fx.clock.seconds() + 60);
    expect(await reasonOf(verifier.verify(signedBytes(RSA_HEADER, Buffer.from(expiredLast))))).toBe(
      "expired",
    );
    const header = RSA_HEADER.toString();
    const noneFirst = Buffer.from(repeated(header, "alg", "none"));
    await expect(
      verifier.verify(signedBytes(noneFirst, Buffer.from(claimsJson()))),
    ).resolves.toBeDefined();
    const noneLast = Buffer.from(`${header.slice(0, -1)},"alg":"none"}`);
    expect(await reasonOf(verifier.verify(signedBytes(noneLast, Buffer.from(claimsJson()))))).toBe(
      "algorithm",
    );
  });

  it("refuses base64url with bits set past the encoded bytes: one value has one encoding", async () => {
    const verifier = verifierFor();
    // An RS256 signature is 256 bytes: 342 characters, the last carrying 4 unused bits.
    const [h, p, s] = token(rsa).split(".") as [string, string, string];
    expect(s.length % 4).toBe(2);
    expect(await reasonOf(verifier.verify(`${h}.${p}.${withTrailingBits(s)}`))).toBe("malformed");
    // Header and payload re-encoded that way and then signed: the signature matches the text.
    const header = b64url(RSA_HEADER);
    const paddings = ["", "x", "xx"].map((pad) => b64url(claimsJson({ pad })));
    const payload = paddings.find((text) => text.length % 4 >= 2) as string;
    expect(header.length % 4).toBeGreaterThanOrEqual(2);
    await expect(verifier.verify(signedBytes(header, payload))).resolves.toBeDefined();
    for (const [first, second] of [
      [withTrailingBits(header), payload],
      [header, withTrailingBits(payload)],
    ] as const) {
      expect(await reasonOf(verifier.verify(signedBytes(first, second)))).toBe("malformed");
    }
  });

  it("refuses tokens over the size limit before parsing them", async () => {
    const verifier = verifierFor();
    const big = token(rsa, {}, { pad: "x".repeat(9000) });
    expect(await reasonOf(verifier.verify(big))).toBe("malformed");
    expect(await reasonOf(verifier.verify("a".repeat(1_000_000)))).toBe("malformed");
    await expect(verifierFor({ maxTokenLength: 16_384 }).verify(big)).resolves.toBeDefined();
  });

  it("refuses values that are not strings", async () => {
    for (const value of [undefined, null, 42, {}, Buffer.from(good())]) {
      expect(await reasonOf(verifierFor().verify(value as string))).toBe("malformed");
    }
  });
});

describe("typ", () => {
  it("accepts JWT and at+jwt by default, refuses other JWT kinds", async () => {
    const verifier = verifierFor();
    for (const typ of ["JWT", "jwt", "at+jwt", "application/at+jwt", undefined]) {
      await expect(verifier.verify(token(rsa, { typ }))).resolves.toBeDefined();
    }
    for (const typ of ["dpop+jwt", "logout+jwt", "JOSE", "", 1]) {
      expect(await reasonOf(verifier.verify(token(rsa, { typ })))).toBe("type");
    }
  });

  it("in strict mode requires at+jwt and the RFC 9068 claims", async () => {
    const verifier = verifierFor({ strict: true });
    const rfc9068 = { jti: "id-1", client_id: "client-1" };
    await expect(verifier.verify(token(rsa, { typ: "at+jwt" }, rfc9068))).resolves.toBeDefined();
    await expect(
      verifier.verify(token(rsa, { typ: "application/at+jwt" }, rfc9068)),
    ).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(token(rsa, { typ: "JWT" }, rfc9068)))).toBe("type");
    expect(await reasonOf(verifier.verify(token(rsa, { typ: undefined }, rfc9068)))).toBe("type");
    for (const claim of ["jti", "client_id", "iat"]) {
      const error = await authErrorOf(
        verifier.verify(token(rsa, { typ: "at+jwt" }, { ...rfc9068, [claim]: undefined })),
      );
      expect(error).toMatchObject({ reason: "missing_claim", claim });
    }
  });
});

describe("claims", () => {
  it.each(["iss", "sub", "aud", "exp"])("requires %s", async (claim) => {
    const error = await authErrorOf(verifierFor().verify(token(rsa, {}, { [claim]: undefined })));
    expect(error).toMatchObject({ reason: "missing_claim", claim });
  });

  it("requires the configured extra claims", async () => {
    const verifier = verifierFor({ requiredClaims: ["azp", "client_id"] });
    const error = await authErrorOf(verifier.verify(token(rsa)));
    expect(error).toMatchObject({ reason: "missing_claim", claim: "client_id" });
    await expect(verifier.verify(token(rsa, {}, { client_id: "c" }))).resolves.toBeDefined();
  });

  it("checks iss exactly and aud by membership", async () => {
    const verifier = verifierFor();
    for (const iss of [
      fx.server.issuer.slice(0, -1),
      `${fx.server.issuer}x`,
      fx.server.issuer.toUpperCase(),
    ]) {
      expect(await reasonOf(verifier.verify(token(rsa, {}, { iss })))).toBe("issuer");
    }
    for (const aud of ["https://other.example", [], ["a", "b"], `${AUDIENCE}/`]) {
      expect(["audience", "claim_type"]).toContain(
        await reasonOf(verifier.verify(token(rsa, {}, { aud }))),
      );
    }
    expect(await reasonOf(verifier.verify(token(rsa, {}, { aud: ["a"] })))).toBe("audience");
  });

  it.each([
    ["exp", "1700000000"],
    ["exp", null],
    ["exp", [1]],
    ["nbf", "0"],
    ["iat", {}],
    ["aud", 42],
    ["aud", []],
    ["aud", [AUDIENCE, 1]],
    ["iss", 5],
    ["iss", [null]],
    ["sub", 1],
    ["scope", ["read:items"]],
    ["permissions", "read:items"],
    ["permissions", [1]],
    ["client_id", false],
  ])("refuses %s of the wrong type (%j)", async (claim, value) => {
    const error = await authErrorOf(verifierFor().verify(token(rsa, {}, { [claim]: value })));
    expect(error).toMatchObject({ reason: "claim_type", claim });
  });

  it.each([
    ["exp", 1e13], // past the JS Date range: whoami's expiry would not render
    ["exp", 253_402_300_800], // 10000-01-01
    ["exp", Number.MAX_SAFE_INTEGER],
    ["iat", -1],
    ["nbf", -1e-9],
    ["iat", 1e300],
  ])("refuses %s out of the NumericDate range 0 … 253402300799 (%d)", async (claim, value) => {
    const error = await authErrorOf(verifierFor().verify(token(rsa, {}, { [claim]: value })));
    expect(error).toMatchObject({ reason: "claim_range", claim, status: 401 });
  });

  it("refuses a NumericDate that JSON reads as Infinity", async () => {
    const json = claimsJson().replace(/"exp":\d+/, '"exp":1e400');
    const error = await authErrorOf(
      verifierFor().verify(signedBytes(RSA_HEADER, Buffer.from(json))),
    );
    expect(error).toMatchObject({ reason: "claim_range", claim: "exp" });
  });

  it("accepts the last second of year 9999 and non-integer NumericDates (RFC 7519 §2)", async () => {
    const verifier = verifierFor();
    const now = fx.clock.seconds();
    const last = await verifier.verify(token(rsa, {}, { exp: 253_402_300_799 }));
    expect(new Date(last.exp * 1000).toISOString()).toBe("9999-12-31T23:59:59.000Z");
    await expect(
      verifier.verify(token(rsa, {}, { exp: now + 0.5, iat: now - 0.25, nbf: now - 0.25 })),
    ).resolves.toBeDefined();
    await expect(verifier.verify(token(rsa, {}, { iat: 0, nbf: 0 }))).resolves.toBeDefined();
  });

  it("refuses an exp that is not after iat or nbf: such a token was never valid", async () => {
    const verifier = verifierFor();
    const now = fx.clock.seconds();
    for (const claims of [
      { iat: now, exp: now },
      { iat: now - 2, exp: now - 3 },
      { nbf: now, exp: now },
      { iat: now - 10, nbf: now + 1, exp: now + 1 },
    ]) {
      const error = await authErrorOf(verifier.verify(token(rsa, {}, claims)));
      expect(error).toMatchObject({ reason: "claim_range", claim: "exp" });
    }
  });

  it("checks exp, nbf and iat at and around the clock tolerance", async () => {
    const verifier = verifierFor({ clockTolerance: 5 });
    const now = fx.clock.seconds();
    await expect(verifier.verify(token(rsa, {}, { exp: now - 4 }))).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(token(rsa, {}, { exp: now - 5 })))).toBe("expired");
    expect(await reasonOf(verifier.verify(token(rsa, {}, { exp: now - 6 })))).toBe("expired");
    await expect(verifier.verify(token(rsa, {}, { nbf: now + 5 }))).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(token(rsa, {}, { nbf: now + 6 })))).toBe("not_yet_valid");
    await expect(verifier.verify(token(rsa, {}, { iat: now + 5 }))).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(token(rsa, {}, { iat: now + 6 })))).toBe("not_yet_valid");
    const strictClock = verifierFor({ clockTolerance: 0 });
    expect(await reasonOf(strictClock.verify(token(rsa, {}, { exp: now })))).toBe("expired");
    await expect(strictClock.verify(token(rsa, {}, { exp: now + 1 }))).resolves.toBeDefined();
  });

  it("enforces maxTokenAge against iat", async () => {
    const verifier = verifierFor({ maxTokenAge: 60, clockTolerance: 5 });
    const now = fx.clock.seconds();
    await expect(verifier.verify(token(rsa, {}, { iat: now - 65 }))).resolves.toBeDefined();
    expect(await reasonOf(verifier.verify(token(rsa, {}, { iat: now - 66 })))).toBe("too_old");
    const error = await authErrorOf(verifier.verify(token(rsa, {}, { iat: undefined })));
    expect(error).toMatchObject({ reason: "missing_claim", claim: "iat" });
  });

  it("runs custom validators, literal or function, and a throwing one only rejects", async () => {
    const verifier = verifierFor({
      validators: {
        gty: "client-credentials",
        azp: (value) => value === "client-1",
        org: () => {
          throw new Error("validator bug");
        },
      },
    });
    expect(await reasonOf(verifier.verify(token(rsa, {}, { gty: "password" })))).toBe(
      "claim_value",
    );
    expect(await reasonOf(verifier.verify(token(rsa, {}, { azp: "client-2" })))).toBe(
      "claim_value",
    );
    const error = await authErrorOf(verifier.verify(token(rsa)));
    expect(error).toMatchObject({ reason: "claim_value", claim: "org" });
    const noThrow = verifierFor({
      validators: { gty: "client-credentials", azp: (v) => v === "client-1" },
    });
    await expect(noThrow.verify(token(rsa))).resolves.toBeDefined();
  });

  it("checks the signature before the claims", async () => {
    const [h, , s] = token(rsa).split(".");
    const expiredForged = `${h}.${b64url({ iss: "x", exp: 1 })}.${s}`;
    expect(await reasonOf(verifierFor().verify(expiredForged))).toBe("signature");
  });

  it("never puts the token or claim values in an error message", async () => {
    const marker = "SECRET-MARKER-7f3a";
    const verifier = verifierFor();
    const attempts = [
      token(rsa, {}, { aud: marker }),
      token(rsa, {}, { iss: marker }),
      token(rsa, {}, { exp: marker }),
      token(rsa, { kid: marker }),
      token(rsa, { alg: marker }),
      `${token(rsa, {}, { aud: marker })}x`,
      `${b64url(`{"alg":"RS256","${marker}`)}.e30.c2ln`,
      `${b64url({ alg: "RS256", kid: rsa.kid })}.${b64url(`{"${marker}`)}.c2ln`,
    ];
    for (const attempt of attempts) {
      const error = await authErrorOf(verifier.verify(attempt));
      expect(error.message).not.toContain(marker);
      expect(error.message).not.toContain(attempt.slice(0, 20));
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain(marker);
      expect(String(error.cause)).not.toContain(marker);
    }
  });
});

describe("authenticate", () => {
  it("parses the header, then verifies", async () => {
    const verifier = verifierFor();
    await expect(verifier.authenticate(`Bearer ${token(rsa)}`)).resolves.toMatchObject({
      sub: "client-1@clients",
    });
    expect((await authErrorOf(verifier.authenticate(undefined))).status).toBe(401);
    expect((await authErrorOf(verifier.authenticate("Bearer a b"))).status).toBe(400);
    expect((await authErrorOf(verifier.authenticate("Bearer a.b.c"))).code).toBe(
      "ERR_AUTH_INVALID_TOKEN",
    );
  });

  it("refuses characters outside the b64token grammar (400) with the cache on, before and after a hit", async () => {
    const verifier = verifierFor();
    const valid = token(rsa);
    for (const bad of [`${valid}!`, `!${valid}`, "a.b.c\u00e9", "a.b.c=x"]) {
      const error = await authErrorOf(verifier.authenticate(`Bearer ${bad}`));
      expect(error.code).toBe("ERR_AUTH_INVALID_REQUEST");
    }
    await expect(verifier.authenticate(`Bearer ${valid}`)).resolves.toBeDefined();
    await expect(verifier.authenticate(`Bearer ${valid}`)).resolves.toBeDefined();
    const after = await authErrorOf(verifier.authenticate(`Bearer ${valid}%`));
    expect(after.code).toBe("ERR_AUTH_INVALID_REQUEST");
  });
});
