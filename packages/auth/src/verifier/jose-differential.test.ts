import { generateTestKey, signBytes, type TestKey } from "@repo/test-utils";
import fc from "fast-check";
import { createLocalJWKSet, errors, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exponentOneSignature,
  offCurve,
  SMALL_ORDER_SIGNATURE,
  smallOrderEd25519,
  withExponent,
} from "../../test/support/odd-keys.js";
import {
  AUDIENCE,
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { AuthError } from "../errors.js";
import type { AccessTokenVerifier, VerifierAlgorithm } from "./types.js";

/**
 * Differential test: for random and mutated tokens against key sets holding odd keys, the verifier
 * accepts exactly the tokens that
 *   1. `jose.jwtVerify` accepts with a local JWKS of the set's *sound* keys (same algorithms,
 *      issuer, audience, clock tolerance and required claims; several matching keys are tried in
 *      turn, as jose documents for `JWKSMultipleMatchingKeys`), and that
 *   2. pass the rules below, where the verifier is deliberately stricter than jose.
 * Either way it throws nothing but an AuthError. `FUZZ_RUNS=10000` runs longer.
 */

const ALGORITHMS: VerifierAlgorithm[] = ["RS256", "PS256", "ES256", "EdDSA"];
const TOLERANCE = 5;
const MAX_TOKEN_LENGTH = 8192;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

// ---- the extra rules (each has a row in packages/auth/SECURITY.md) ----

const ACCEPTED_TYPES = new Set(["jwt", "application/jwt", "at+jwt", "application/at+jwt"]);
const STRING_CLAIMS = ["iss", "sub", "jti", "scope", "azp", "client_id", "gty"];
const MAX_NUMERIC_DATE = 253_402_300_799;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((entry) => typeof entry === "string");

/** Why the verifier refuses a token jose may accept; `undefined` when no extra rule applies. */
function extraRuleBroken(token: string, nowSeconds: number): string | undefined {
  if (token.length > MAX_TOKEN_LENGTH) return "longer than maxTokenLength";
  const segments = token.split(".");
  // The compact serialization with nothing but base64url, each segment the one encoding of its
  // bytes (re-encoding gives it back): no padding, whitespace, `+`/`/`, or bits past the last byte.
  if (
    segments.length !== 3 ||
    segments.some(
      (segment) =>
        !/^[A-Za-z0-9_-]+$/.test(segment) ||
        Buffer.from(segment, "base64url").toString("base64url") !== segment,
    )
  ) {
    return "not canonical base64url";
  }
  const [headerBytes, payloadBytes] = segments.map((segment) => Buffer.from(segment, "base64url"));
  // jose's UTF-8 decoder drops a leading byte order mark; JSON text must not have one.
  if ([headerBytes, payloadBytes].some((bytes) => bytes?.subarray(0, 3).equals(BOM))) {
    return "byte order mark";
  }
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(String(headerBytes));
    claims = JSON.parse(String(payloadBytes));
  } catch {
    return undefined; // not JSON: jose refuses it too
  }
  if (header.crit !== undefined) return "crit (no extension is understood)";
  if (header.b64 !== undefined && header.b64 !== true) return "b64 other than true";
  if (header.cty !== undefined) return "cty (nested JWTs are not supported)";
  if (header.kid !== undefined && typeof header.kid !== "string") return "kid not a string";
  if (
    header.typ !== undefined &&
    (typeof header.typ !== "string" || !ACCEPTED_TYPES.has(header.typ.toLowerCase()))
  ) {
    return "typ of another kind of JWT";
  }
  for (const name of STRING_CLAIMS) {
    if (claims[name] !== undefined && typeof claims[name] !== "string") return `${name} type`;
  }
  const { aud, permissions, exp, nbf, iat } = claims;
  if (typeof aud !== "string" && !(isStringArray(aud) && aud.length > 0)) return "aud type";
  if (permissions !== undefined && !isStringArray(permissions)) return "permissions type";
  for (const value of [exp, nbf, iat]) {
    if (value !== undefined && typeof value !== "number") return "NumericDate type";
    if (typeof value === "number" && !(value >= 0 && value <= MAX_NUMERIC_DATE)) {
      return "NumericDate out of 0 … 253402300799";
    }
  }
  if (typeof iat === "number" && iat > nowSeconds + TOLERANCE) return "iat in the future";
  if (typeof exp === "number") {
    if ((typeof iat === "number" && exp <= iat) || (typeof nbf === "number" && exp <= nbf)) {
      return "exp not after iat or nbf";
    }
  }
  return undefined;
}

// ---- keys: sound ones, and ones a broken or hostile JWKS could publish ----

interface PoolKey {
  jwk: Record<string, unknown>;
  /** Whether the verifier may use it; unsound keys are left out of jose's JWKS. */
  sound: boolean;
}

interface Signer {
  kid: string | undefined;
  /** The key that verifies its signatures, when one is published. */
  own: PoolKey | undefined;
  alg: string;
  /** The raw JWS signature of `input` for header `alg` (or the signer's own, if it has one). */
  sign(alg: string, input: string): Buffer;
}

const rsaA = generateTestKey("rsa-a");
const rsaFree = generateTestKey("rsa-free");
const twin1 = generateTestKey("twin");
const twin2 = generateTestKey("twin");
const noKid = generateTestKey("no-kid");
const ec = generateTestKey("ec", { alg: "ES256" });
const ed = generateTestKey("ed", { alg: "EdDSA" });
const p384 = generateTestKey("crv-mismatch", { alg: "ES384" });
const leaked = generateTestKey("private");
const stranger = generateTestKey("rsa-a");

const weakE = withExponent(rsaA.publicJwk, 1n, "weak-e");
const weakEAsRsaA = withExponent(rsaA.publicJwk, 1n, "rsa-a");

const sound = (jwk: Record<string, unknown>): PoolKey => ({ jwk, sound: true });
const unsound = (jwk: Record<string, unknown>): PoolKey => ({ jwk, sound: false });

const PUBLISHED = {
  rsaA: sound(rsaA.publicJwk),
  rsaFree: sound({ ...rsaFree.publicJwk, alg: undefined }),
  twin1: sound(twin1.publicJwk),
  twin2: sound(twin2.publicJwk),
  noKid: sound({ ...noKid.publicJwk, kid: undefined }),
  ec: sound(ec.publicJwk),
  ed: sound(ed.publicJwk),
  weakE: unsound(weakE),
  weakEAsRsaA: unsound(weakEAsRsaA),
  p384AsEs256: unsound({ ...p384.publicJwk, alg: "ES256" }),
  leaked: unsound({ ...leaked.privateKey.export({ format: "jwk" }), kid: "private" }),
  smallOrder: unsound(smallOrderEd25519("small-order")),
};
const POOL: PoolKey[] = [
  ...Object.values(PUBLISHED),
  sound({ ...rsaFree.publicJwk, kid: "rsa-a", use: "enc" }),
  unsound(withExponent(rsaFree.publicJwk, 65_536n, "even-e")),
  unsound(offCurve(ec.publicJwk, "off-curve")),
  unsound({ ...ec.publicJwk, kid: "alg-mismatch", alg: "RS256" }),
];

const RSA_ALGS = new Set(["RS256", "PS256"]);
const keySigner = (key: TestKey, own?: PoolKey, kid = key.kid): Signer => ({
  kid,
  alg: key.alg,
  own,
  sign: (alg, input) =>
    signBytes(key.alg.startsWith("RS") && RSA_ALGS.has(alg) ? alg : key.alg, key.privateKey, input),
});

const SOUND_SIGNERS: Signer[] = [
  keySigner(rsaA, PUBLISHED.rsaA),
  keySigner(rsaFree, PUBLISHED.rsaFree),
  keySigner(twin1, PUBLISHED.twin1),
  keySigner(twin2, PUBLISHED.twin2),
  keySigner(noKid, PUBLISHED.noKid, undefined),
  keySigner(ec, PUBLISHED.ec),
  keySigner(ed, PUBLISHED.ed),
];
/** Signers whose tokens only an unsound key (or none) can verify. */
const HOSTILE_SIGNERS: Signer[] = [
  keySigner({ ...p384, alg: "ES256" }, PUBLISHED.p384AsEs256),
  keySigner(leaked, PUBLISHED.leaked),
  keySigner(stranger),
  {
    kid: "weak-e",
    alg: "RS256",
    own: PUBLISHED.weakE,
    sign: (_, input) => exponentOneSignature(weakE, input),
  },
  {
    kid: "rsa-a",
    alg: "RS256",
    own: PUBLISHED.weakEAsRsaA,
    sign: (_, input) => exponentOneSignature(weakEAsRsaA, input),
  },
  {
    kid: "small-order",
    alg: "EdDSA",
    own: PUBLISHED.smallOrder,
    sign: () => SMALL_ORDER_SIGNATURE,
  },
];
const SIGNERS = [...SOUND_SIGNERS, ...HOSTILE_SIGNERS];
const KIDS = [...new Set(SIGNERS.map((signer) => signer.kid))];

// ---- the two implementations ----

let fx: VerifierFixture;
const verifiers = new Map<string, Promise<AccessTokenVerifier>>();

beforeAll(async () => {
  fx = await createVerifierFixture([], { onEvent: undefined });
  fx.verifier.close();
});
afterAll(() => fx.close());

/** One verifier per key set, fetching it from the fixture's server. */
function verifierFor(set: readonly PoolKey[]): Promise<AccessTokenVerifier> {
  const id = set.map((key) => POOL.indexOf(key)).join("-");
  let verifier = verifiers.get(id);
  if (verifier === undefined) {
    const jwksUri = fx.server.serveJwksAt(
      `/sets/${id}.json`,
      set.map((key) => key.jwk),
    );
    const built = fx.build({
      issuerBaseURL: undefined,
      issuer: fx.server.issuer,
      jwksUri,
      algorithms: ALGORITHMS,
      clockTolerance: TOLERANCE,
      jwksCooldown: 3_600_000,
    });
    verifier = built.warmUp().then(() => built);
    verifiers.set(id, verifier);
  }
  return verifier;
}

async function joseAccepts(token: string, set: readonly PoolKey[]): Promise<boolean> {
  const jwks = createLocalJWKSet({
    keys: set.filter((key) => key.sound).map((key) => ({ ...key.jwk })),
  });
  const options = {
    algorithms: ALGORITHMS,
    issuer: fx.server.issuer,
    audience: AUDIENCE,
    clockTolerance: TOLERANCE,
    requiredClaims: ["iss", "sub", "aud", "exp"],
    currentDate: new Date(fx.clock.now()),
  };
  try {
    await jwtVerify(token, jwks, options);
    return true;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) return false;
    for await (const key of error) {
      if (
        await jwtVerify(token, key, options).then(
          () => true,
          () => false,
        )
      )
        return true;
    }
    return false;
  }
}

async function oursAccepts(token: string, set: readonly PoolKey[]): Promise<boolean> {
  const verifier = await verifierFor(set);
  try {
    await verifier.verify(token);
    return true;
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    expect([401, 503]).toContain(error.status);
    return false;
  }
}

// ---- tokens ----

const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString("base64url");
const jsonValue = fc.jsonValue({ maxDepth: 2 });
const seconds = () => fx.clock.seconds();

const headerOverrides = fc.dictionary(
  fc.constantFrom("alg", "kid", "typ", "crit", "b64", "cty", "jwk", "jku"),
  fc.oneof(
    fc.constantFrom<unknown>(undefined, ...ALGORITHMS, "none", "HS256", "Ed25519", ...KIDS),
    fc.constantFrom("JWT", "at+jwt", "application/jwt", "dpop+jwt", "JWT ", ["b64"], true, false),
    jsonValue,
  ),
  { maxKeys: 2 },
);

const timeValue = fc.oneof(
  fc.integer({ min: -120, max: 120 }).map((offset) => seconds() + offset),
  fc.double({ min: -2, max: 2, noNaN: true }).map((offset) => seconds() + offset),
  fc.constantFrom(0, -1, 1e13, MAX_NUMERIC_DATE, MAX_NUMERIC_DATE + 1, "1767225600", null),
);
const claimValue = (name: string) => {
  switch (name) {
    case "exp":
    case "nbf":
    case "iat":
      return timeValue;
    case "aud":
      return fc.constantFrom<unknown>(AUDIENCE, [AUDIENCE], ["x", AUDIENCE], [AUDIENCE, 1], [], 7);
    case "iss":
      return fc.oneof(
        fc.constant(undefined),
        fc.constant(0).map(() => fx.server.issuer.slice(0, -1)),
        fc.constantFrom<unknown>("https://attacker.example/", ["iss"]),
      );
    default:
      return fc.oneof(fc.string({ maxLength: 8 }), jsonValue);
  }
};
const claimOverrides = fc
  .uniqueArray(
    fc.constantFrom("iss", "sub", "aud", "exp", "nbf", "iat", "scope", "permissions", "azp"),
    { maxLength: 3 },
  )
  .chain((names) => fc.tuple(...names.map((name) => fc.tuple(fc.constant(name), claimValue(name)))))
  .map((entries) => Object.fromEntries(entries));

/** How the header and payload bytes are written before signing. */
const encodings = fc.constantFrom(
  "json",
  "bom",
  "invalid-utf8",
  "repeated-member",
  "infinite-exp",
  "non-canonical",
);
/** What happens to the compact token after signing. */
const mutations = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("flip" as const), segment: fc.nat(2), bit: fc.nat() }),
  fc.constantFrom(
    { kind: "trailing-bits" as const },
    { kind: "padding" as const },
    { kind: "standard-alphabet" as const },
    { kind: "space" as const },
    { kind: "no-signature" as const },
  ),
);

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type Encoding = ValueOf<typeof encodings>;
type Mutation = ValueOf<typeof mutations>;

function encodeParts(encoding: Encoding, header: object, claims: object): [string, string] {
  const headerJson = JSON.stringify(header);
  let payloadJson = JSON.stringify(claims);
  switch (encoding) {
    case "bom":
      return [
        b64(headerJson),
        b64(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(payloadJson)])),
      ];
    case "invalid-utf8":
      return [
        b64(headerJson),
        b64(
          Buffer.concat([
            Buffer.from(payloadJson.slice(0, -1)),
            Buffer.from(',"x":"\xff"}', "latin1"),
          ]),
        ),
      ];
    case "repeated-member":
      payloadJson = `{"sub":"first",${payloadJson.slice(1)}`;
      break;
    case "infinite-exp":
      payloadJson = payloadJson.replace(/"exp":[^,}]+/, '"exp":1e400');
      break;
    case "non-canonical": {
      const text = b64(payloadJson);
      return [b64(headerJson), text.length % 4 < 2 ? text : setUnusedBits(text)];
    }
  }
  return [b64(headerJson), b64(payloadJson)];
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
function setUnusedBits(text: string): string {
  const unused = text.length % 4 === 2 ? 0x0f : 0x03;
  return `${text.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(text.slice(-1)) | unused]}`;
}

function mutate(token: string, mutation: Mutation): string {
  const [h = "", p = "", s = ""] = token.split(".");
  switch (mutation.kind) {
    case "none":
      return token;
    case "flip": {
      const parts = [h, p, s];
      const bytes = Buffer.from(parts[mutation.segment] ?? "", "base64url");
      if (bytes.length === 0) return token;
      const bit = mutation.bit % (bytes.length * 8);
      bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      parts[mutation.segment] = bytes.toString("base64url");
      return parts.join(".");
    }
    case "trailing-bits":
      return s.length % 4 < 2 ? token : `${h}.${p}.${setUnusedBits(s)}`;
    case "padding":
      return `${token}${"=".repeat((4 - (s.length % 4)) % 4) || "="}`;
    case "standard-alphabet":
      return `${h}.${p}.${s.replaceAll("-", "+").replaceAll("_", "/")}`;
    case "space":
      return `${h}.${p}.${s.slice(0, 8)} ${s.slice(8)}`;
    case "no-signature":
      return `${h}.${p}.`;
  }
}

/** `hostile` in `weight` of 6 cases, `clean` otherwise: valid tokens must occur often too. */
const sometimes = <T>(clean: T, hostile: fc.Arbitrary<T>, weight = 1) =>
  fc.oneof({ weight: 6 - weight, arbitrary: fc.constant(clean) }, { weight, arbitrary: hostile });

const cases = fc.record({
  signer: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...SOUND_SIGNERS) },
    fc.constantFrom(...HOSTILE_SIGNERS),
  ),
  header: sometimes<Record<string, unknown>>({}, headerOverrides),
  claims: sometimes<Record<string, unknown>>({}, claimOverrides, 3),
  keepClaims: sometimes(true, fc.boolean()),
  encoding: sometimes<Encoding>("json", encodings),
  mutation: sometimes<Mutation>({ kind: "none" }, mutations),
  set: fc.subarray(POOL, { minLength: 1, maxLength: 6 }),
  withSignerKey: sometimes(true, fc.boolean()),
});

type Case = ValueOf<typeof cases>;

function tokenOf({ signer, header, claims, keepClaims, encoding, mutation }: Case) {
  const fullHeader = { alg: signer.alg, typ: "JWT", kid: signer.kid, ...header };
  const base = { iss: fx.server.issuer, sub: "client@clients", aud: AUDIENCE, exp: seconds() + 60 };
  const [h, p] = encodeParts(encoding, fullHeader, keepClaims ? { ...base, ...claims } : claims);
  const alg = typeof fullHeader.alg === "string" ? fullHeader.alg : signer.alg;
  const signature = signer.sign(alg, `${h}.${p}`).toString("base64url");
  return mutate(`${h}.${p}.${signature}`, mutation);
}

/** The set as drawn, plus the signer's own published key when asked (so valid tokens occur). */
function keySet({ set, signer, withSignerKey }: Case): PoolKey[] {
  const { own } = signer;
  return withSignerKey && own !== undefined && !set.includes(own) ? [...set, own] : set;
}

describe("differential: the verifier accepts what jose accepts, minus the documented extra rules", () => {
  it("for random and mutated tokens against key sets with odd keys", async () => {
    const seen = { accepted: 0, refusedByJose: 0, refusedByExtraRule: 0 };
    await fc.assert(
      fc.asyncProperty(cases, async (drawn) => {
        const token = tokenOf(drawn);
        const set = keySet(drawn);
        const jose = await joseAccepts(token, set);
        const broken = extraRuleBroken(token, seconds());
        const ours = await oursAccepts(token, set);
        expect({ ours, jose, broken }).toEqual({
          ours: jose && broken === undefined,
          jose,
          broken,
        });
        if (ours) seen.accepted += 1;
        else if (!jose) seen.refusedByJose += 1;
        else seen.refusedByExtraRule += 1;
      }),
      { numRuns: RUNS },
    );
    // Every branch of the rule occurred, so the property compared something real.
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refusedByJose).toBeGreaterThan(0);
    expect(seen.refusedByExtraRule).toBeGreaterThan(0);
  });

  it("jose alone accepts the forgeries for unsound keys that the verifier drops", async () => {
    const set = [PUBLISHED.weakE, PUBLISHED.smallOrder];
    for (const signer of HOSTILE_SIGNERS.filter((each) => each.own && set.includes(each.own))) {
      const token = tokenOf({
        signer,
        header: {},
        claims: {},
        keepClaims: true,
        encoding: "json",
        mutation: { kind: "none" },
        set,
        withSignerKey: true,
      });
      const unfiltered = createLocalJWKSet({ keys: set.map((key) => ({ ...key.jwk })) });
      await expect(
        jwtVerify(token, unfiltered, {
          issuer: fx.server.issuer,
          audience: AUDIENCE,
          currentDate: new Date(fx.clock.now()),
        }),
      ).resolves.toBeDefined();
      expect(await oursAccepts(token, set)).toBe(false);
    }
  });
});
