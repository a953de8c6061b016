import fc from "fast-check";

const b64url = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");

/** Characters HTTP allows in a header value (RFC 9110 field-value: VCHAR, SP, HTAB, obs-text). */
const headerChar = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  )
  .map((code) => String.fromCharCode(code));

const headerString = (maxLength: number) => fc.string({ unit: headerChar, maxLength });

const base64urlString = (maxLength: number) =>
  fc.string({
    unit: fc.constantFrom(
      ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".split(""),
    ),
    maxLength,
  });

const injection = fc.constantFrom(
  "../../../../etc/passwd",
  "' OR '1'='1",
  '"; DROP TABLE keys; --',
  ["$", "{jndi:ldap://127.0.0.1:1/a}"].join(""),
  "__proto__",
  "constructor",
  "%00",
  "kid\\u0000",
  "http://127.0.0.1:1/jwks.json",
  "",
);

const algorithm = fc.oneof(
  fc.constantFrom(
    "none",
    "None",
    "NONE",
    "nOnE",
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "PS256",
    "ES256",
    "EdDSA",
    "RSA-OAEP",
    "dir",
  ),
  fc.string({ maxLength: 12 }),
  fc.constant(undefined),
);

/** A JOSE header an attacker would try: odd algorithms, injected kids, keys and key URLs. */
const joseHeader = fc.record(
  {
    alg: algorithm,
    typ: fc.constantFrom("JWT", "at+jwt", "JWE", undefined),
    kid: fc.oneof(injection, fc.uuid(), fc.string({ maxLength: 40 }), fc.integer()),
    jku: fc.constant("http://127.0.0.1:1/jwks.json"),
    x5u: fc.constant("http://127.0.0.1:1/cert.pem"),
    jwk: fc.constant({ kty: "oct", k: b64url("secret") }),
    crit: fc.constantFrom(["exp"], ["b64"], ["unknown"], [], "b64"),
    b64: fc.boolean(),
    enc: fc.constantFrom("A256GCM", undefined),
  },
  { requiredKeys: [] },
);

const claimValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
);

const payload = (issuer: string, audience: string) =>
  fc.record(
    {
      iss: fc.oneof(fc.constant(issuer), claimValue),
      aud: fc.oneof(fc.constant(audience), fc.constant([audience, "other"]), claimValue),
      sub: claimValue,
      exp: fc.oneof(
        fc.constant(Math.floor(Date.now() / 1000) + 600),
        fc.constant(Math.floor(Date.now() / 1000) - 600),
        claimValue,
      ),
      nbf: claimValue,
      iat: claimValue,
      scope: fc.oneof(fc.constant("read:items write:items"), claimValue),
    },
    { requiredKeys: [] },
  );

const segmentFromJson = (value: unknown) => b64url(JSON.stringify(value) ?? "null");

/** Three (or more, or fewer) dot-separated segments that look like a JWT but never verify. */
const jwtShaped = (issuer: string, audience: string) =>
  fc
    .tuple(
      fc.oneof(joseHeader.map(segmentFromJson), base64urlString(40), fc.constant("")),
      fc.oneof(
        payload(issuer, audience).map(segmentFromJson),
        fc.jsonValue().map(segmentFromJson),
        fc.constant(b64url('{"__proto__":{"admin":true},"constructor":{"prototype":{}}}')),
        base64urlString(60),
      ),
      fc.oneof(
        base64urlString(400),
        fc.constant(""),
        fc.constant(b64url(new Uint8Array(64))),
        fc.constant("=="),
      ),
      fc.integer({ min: 1, max: 6 }),
    )
    .map(([h, p, s, segments]) => [h, p, s, "e30", "AA"].slice(0, segments).join("."));

/** Small edits of a real token that each make it invalid (signature, claims or shape). */
const mutatedToken = (token: string) => {
  const [header = "", body = "", signature = ""] = token.split(".");
  return fc.oneof(
    // A middle character of the signature: every bit of it is significant.
    fc.integer({ min: 0, max: Math.max(0, signature.length - 2) }).map((i) => {
      const flipped = signature[i] === "A" ? "B" : "A";
      return `${header}.${body}.${signature.slice(0, i)}${flipped}${signature.slice(i + 1)}`;
    }),
    fc.integer({ min: 4, max: token.length }).map((cut) => token.slice(0, token.length - cut)),
    fc.constantFrom(
      `${token}.`,
      `${token}=`,
      `${token}.${signature}`,
      `${header}.${body}.`,
      `${header}..${signature}`,
      `.${body}.${signature}`,
      `${header.replace(/.$/, "+")}.${body}.${signature}`,
      `${segmentFromJson({ alg: "none", typ: "JWT" })}.${body}.`,
      `${segmentFromJson({ alg: "HS256", typ: "JWT" })}.${body}.${signature}`,
      `${header}.${segmentFromJson({ ...JSON.parse(Buffer.from(body, "base64url").toString()), scope: "admin" })}.${signature}`,
    ),
  );
};

const scheme = fc.constantFrom(
  "Bearer ",
  "bearer ",
  "BEARER ",
  "Bearer  ",
  "Bearer\t",
  "Basic ",
  "Token ",
  "DPoP ",
  "",
  " Bearer ",
);

export interface HostileRequest {
  /** The Authorization header to send, or undefined to send none. */
  authorization: string | undefined;
  procedure: "whoami" | "items.list" | "items.create";
}

/**
 * Authorization headers an attacker or a broken client sends: random bytes, wrong schemes, several
 * tokens, JWT look-alikes with hostile headers, mutated real tokens, and tokens far over the size
 * limit. `validToken` seeds the mutations.
 */
export function hostileRequests(options: {
  issuer: string;
  audience: string;
  validToken: string;
}): fc.Arbitrary<HostileRequest> {
  const { issuer, audience, validToken } = options;
  const token = fc.oneof(
    { weight: 3, arbitrary: jwtShaped(issuer, audience) },
    { weight: 3, arbitrary: mutatedToken(validToken) },
    { weight: 1, arbitrary: base64urlString(200) },
    { weight: 1, arbitrary: headerString(100) },
  );
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(scheme, token).map(([s, t]) => s + t) },
    { weight: 1, arbitrary: headerString(200) },
    { weight: 1, arbitrary: fc.tuple(token, token).map(([a, b]) => `Bearer ${a}, Bearer ${b}`) },
    { weight: 1, arbitrary: fc.tuple(token, token).map(([a, b]) => `Bearer ${a} ${b}`) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 8_000, max: 12_000 })
        .map((size) => `Bearer ${validToken}${"A".repeat(size)}`),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  return fc.record({
    authorization,
    procedure: fc.constantFrom("whoami", "items.list", "items.create"),
  });
}
