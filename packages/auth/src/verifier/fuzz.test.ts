import { b64url, generateTestKey, signToken } from "@repo/test-utils";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createVerifierFixture,
  type VerifierFixture,
} from "../../test/support/verifier-fixture.js";
import { AuthError } from "../errors.js";
import type { AccessTokenVerifier } from "./types.js";

const key = generateTestKey("fuzz-key");
let fx: VerifierFixture;
let verifier: AccessTokenVerifier;

beforeAll(async () => {
  fx = await createVerifierFixture([key], { jwksCooldown: 3_600_000, onEvent: undefined });
  verifier = fx.build({ algorithms: ["RS256", "PS256", "ES256", "EdDSA"] });
  await verifier.warmUp();
});
afterAll(() => fx.close());

/** The fewest claims the verifier accepts, valid for a minute of the fixture's clock. */
const minimalClaims = () => ({
  iss: fx.server.issuer,
  sub: "s",
  aud: "https://api.example.local",
  exp: fx.clock.seconds() + 60,
});

/** The only acceptable outcomes: valid claims, or a typed AuthError. */
async function outcome(run: () => Promise<unknown>): Promise<"claims" | "auth-error"> {
  try {
    const claims = await run();
    expect(claims).toMatchObject({ iss: fx.server.issuer, aud: expect.anything() });
    return "claims";
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    expect([400, 401, 503]).toContain(error.status);
    return "auth-error";
  }
}

const b64 = fc
  .uint8Array({ maxLength: 200 })
  .map((bytes) => Buffer.from(bytes).toString("base64url"));
const jsonValue = fc.jsonValue({ maxDepth: 3 });
// Hostile overrides of a valid header: few at a time, so valid tokens are generated too.
const headerOverrides = fc
  .array(
    fc.oneof(
      fc.tuple(
        fc.constant("alg"),
        fc.oneof(fc.constantFrom("RS256", "none", "HS256", "PS256", "rs256"), jsonValue),
      ),
      fc.tuple(fc.constant("kid"), fc.oneof(fc.constant("fuzz-key"), fc.string(), jsonValue)),
      fc.tuple(
        fc.constant("typ"),
        fc.oneof(fc.constantFrom("JWT", "at+jwt", "dpop+jwt"), jsonValue),
      ),
      fc.tuple(fc.constantFrom("crit", "b64", "jwk", "x5c"), jsonValue),
      fc.tuple(fc.constantFrom("jku", "x5u"), fc.webUrl()),
    ),
    { maxLength: 3 },
  )
  .map((entries) => Object.fromEntries(entries));
const claimValue = fc.oneof(jsonValue, fc.integer(), fc.double(), fc.string());

describe("fuzzing: the verifier answers claims or a typed AuthError, nothing else", () => {
  it("for arbitrary strings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.stringMatching(/^[\w.-]{0,300}$/)),
        async (token) => {
          expect(await outcome(() => verifier.verify(token))).toBe("auth-error");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("for three base64url segments of random bytes, JSON or not", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          b64,
          jsonValue.map((v) => b64url(JSON.stringify(v) ?? "")),
        ),
        fc.oneof(
          b64,
          jsonValue.map((v) => b64url(JSON.stringify(v) ?? "")),
        ),
        b64,
        async (h, p, s) => {
          expect(await outcome(() => verifier.verify(`${h}.${p}.${s}`))).toBe("auth-error");
        },
      ),
      { numRuns: 300 },
    );
  });

  it("for validly signed tokens with hostile headers and claims", async () => {
    const seen = { claims: 0, "auth-error": 0 };
    await fc.assert(
      fc.asyncProperty(
        headerOverrides,
        fc.dictionary(
          fc.constantFrom(
            "iss",
            "sub",
            "aud",
            "exp",
            "nbf",
            "iat",
            "scope",
            "permissions",
            "__proto__",
            "constructor",
            "x",
          ),
          claimValue,
          { maxKeys: 3 },
        ),
        fc.boolean(),
        async (header, claims, keepBase) => {
          const payload = keepBase ? { ...minimalClaims(), ...claims } : claims;
          const token = signToken(key, {
            header: { alg: "RS256", kid: "fuzz-key", ...header },
            payload,
          });
          seen[await outcome(() => verifier.verify(token))] += 1;
        },
      ),
      { numRuns: 200 },
    );
    // Both outcomes occur, so the property did exercise the success path too.
    expect(seen.claims).toBeGreaterThan(0);
    expect(seen["auth-error"]).toBeGreaterThan(0);
  });

  it("for arbitrary Authorization headers", async () => {
    const valid = signToken(key, { payload: minimalClaims() });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.array(fc.string(), { maxLength: 3 }),
          fc.constantFrom(null, undefined, `Bearer ${valid}`, `bearer  ${valid}`),
          fc
            .tuple(
              fc.constantFrom("Bearer", "bearer", "Basic", ""),
              fc.constantFrom(" ", "\t", "  ", ","),
              fc.string(),
            )
            .map(([scheme, sep, rest]) => `${scheme}${sep}${rest}`),
        ),
        async (header) => {
          await outcome(() => verifier.authenticate(header));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("accepts the untouched valid token (the property above can succeed)", async () => {
    const valid = signToken(key, { payload: minimalClaims() });
    expect(await outcome(() => verifier.authenticate(`Bearer ${valid}`))).toBe("claims");
  });
});
