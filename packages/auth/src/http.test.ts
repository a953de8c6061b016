import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuthError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  KeysUnavailableError,
  MissingTokenError,
} from "./errors.js";
import { buildAuthErrorHeaders, buildWwwAuthenticate, parseAuthorizationHeader } from "./http.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof AuthError ? error.code : `not an AuthError: ${String(error)}`;
  }
}

describe("parseAuthorizationHeader", () => {
  it.each([
    ["Bearer", `Bearer ${TOKEN}`],
    ["lowercase scheme", `bearer ${TOKEN}`],
    ["uppercase scheme", `BEARER ${TOKEN}`],
    ["several spaces after the scheme", `Bearer   ${TOKEN}`],
    ["optional whitespace around the value", `  Bearer ${TOKEN}  `],
    ["a one-element array", [`Bearer ${TOKEN}`]],
  ])("reads the token: %s", (_, header) => {
    expect(parseAuthorizationHeader(header)).toBe(TOKEN);
  });

  it("accepts b64token characters and trailing padding", () => {
    expect(parseAuthorizationHeader("Bearer a-._~+/Z9==")).toBe("a-._~+/Z9==");
  });

  it.each([
    ["undefined", undefined],
    ["null", null],
    ["an empty string", ""],
    ["only spaces", "   "],
    ["an empty array", []],
    ["Basic credentials", "Basic dXNlcjpwYXNz"],
    ["a scheme that merely starts with Bearer", `Bearerx ${TOKEN}`],
    ["the token without a scheme", TOKEN],
  ])("answers 401 without an error code for %s", (_, header) => {
    expect(codeOf(() => parseAuthorizationHeader(header))).toBe("ERR_AUTH_MISSING_TOKEN");
  });

  it.each([
    ["Bearer without a token", "Bearer"],
    ["Bearer and spaces only", "Bearer    "],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
    ["a tab separator", `Bearer\t${TOKEN}`],
    ["a tab inside", `Bearer ${TOKEN}\tx`],
    ["a comma list of bearer tokens", `Bearer ${TOKEN}, Bearer ${TOKEN}`],
    ["a comma list starting with another scheme", `Basic abc, Bearer ${TOKEN}`],
    ["a comma right after the scheme", `Bearer,${TOKEN}`],
    ["a quote in the token", `Bearer "${TOKEN}"`],
    ["padding inside the token", "Bearer ab=cd"],
    ["a control character", `Bearer ${TOKEN}\u0000`],
    ["non-ASCII", `Bearer ${TOKEN}é`],
    ["the header repeated", [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]],
  ])("answers 400 invalid_request for %s", (_, header) => {
    expect(codeOf(() => parseAuthorizationHeader(header))).toBe("ERR_AUTH_INVALID_REQUEST");
  });

  it("handles long runs of spaces in linear time", () => {
    const spaces = " ".repeat(200_000);
    expect(codeOf(() => parseAuthorizationHeader(`Bearer${spaces}x${spaces}y`))).toBe(
      "ERR_AUTH_INVALID_REQUEST",
    );
    expect(parseAuthorizationHeader(`${spaces}Bearer${spaces}${TOKEN}${spaces}`)).toBe(TOKEN);
  });

  it("never echoes the header in an error message", () => {
    const secret = "c2VjcmV0LXRva2VuLXZhbHVl";
    for (const header of [`Bearer ${secret} ${secret}`, `Bearer\t${secret}`, `Basic ${secret}`]) {
      try {
        parseAuthorizationHeader(header);
      } catch (error) {
        expect((error as Error).message).not.toContain(secret);
      }
    }
  });

  it("throws only typed errors, for any input", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: "binary" }),
          fc.array(fc.string(), { maxLength: 3 }),
          fc.constantFrom(null, undefined),
          fc.string().map((tail) => `Bearer ${tail}`),
        ),
        (header) => {
          try {
            const token = parseAuthorizationHeader(header);
            expect(token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
          } catch (error) {
            expect(error).toBeInstanceOf(AuthError);
            expect([400, 401]).toContain((error as AuthError).status);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("buildWwwAuthenticate", () => {
  it("follows the RFC 6750 table", () => {
    expect(buildWwwAuthenticate(new MissingTokenError())).toBe('Bearer realm="api"');
    expect(buildWwwAuthenticate(new InvalidRequestError())).toBe(
      'Bearer realm="api", error="invalid_request"',
    );
    expect(buildWwwAuthenticate(new InvalidTokenError("expired"))).toBe(
      'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
    );
    expect(buildWwwAuthenticate(new InsufficientScopeError(["write:items"], ["write:items"]))).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    );
    expect(buildWwwAuthenticate(new KeysUnavailableError(30))).toBeUndefined();
  });

  it("lists every required scope, space-separated", () => {
    const error = new InsufficientScopeError(["read:items", "write:items"], ["write:items"]);
    expect(buildWwwAuthenticate(error, { realm: "items" })).toBe(
      'Bearer realm="items", error="insufficient_scope", scope="read:items write:items"',
    );
  });

  it("quotes hostile values so the header cannot be broken or split", () => {
    const realm = 'a"b\\c\r\nSet-Cookie: x=1';
    const header = buildWwwAuthenticate(new MissingTokenError(), { realm }) as string;
    expect(header).toBe('Bearer realm="a\\"b\\\\c??Set-Cookie: x=1"');
    const scoped = buildWwwAuthenticate(new InsufficientScopeError(['x"y\\z\n'], [])) as string;
    expect(scoped).toBe(`Bearer realm="api", error="insufficient_scope", scope="x'y'z'"`);
    const described = buildWwwAuthenticate(
      new InvalidTokenError("missing_claim", { claim: 'q"\\' }),
    );
    expect(described).not.toMatch(/[\\\r\n]/);
  });

  it("always yields a header value that Node accepts", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }),
        fc.array(fc.string({ unit: "binary" })),
        (realm, scopes) => {
          for (const error of [
            new MissingTokenError(),
            new InvalidTokenError("claim_value", { claim: realm }),
            new InsufficientScopeError(scopes, scopes),
          ]) {
            const value = buildWwwAuthenticate(error, { realm }) as string;
            expect(() => new Headers({ "www-authenticate": value })).not.toThrow();
            expect(value).toMatch(/^Bearer realm="(?:[^"\\]|\\["\\])*"/);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("buildAuthErrorHeaders", () => {
  it("sets Retry-After for 503 and WWW-Authenticate otherwise", () => {
    expect(buildAuthErrorHeaders(new KeysUnavailableError(12.2))).toEqual({ "Retry-After": "13" });
    expect(buildAuthErrorHeaders(new MissingTokenError(), { realm: "r" })).toEqual({
      "WWW-Authenticate": 'Bearer realm="r"',
    });
  });
});
