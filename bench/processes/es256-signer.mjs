// Signs batches of distinct ES256 access tokens for the memory section's million-token run, in a
// process of its own so that signing neither slows the verifier's process nor counts in its memory.
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { reportFailures } from "../lib/child.mjs";
import { accessTokenClaims, CLIENT_ID } from "../lib/fixtures.mjs";

reportFailures();

const kid = `bench-es256-${randomUUID()}`;
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "ES256", use: "sig" };
const base64url = (value) => Buffer.from(value).toString("base64url");
const header = base64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid }));
// Auth0 RBAC tokens list the caller's permissions; these make the token as long as the RS256 ones
// of the other sections (about 800 characters), so that the cache holds tokens of a realistic size.
const permissions = Array.from({ length: 12 }, (_, i) => `read:resource-${i}`);

function signToken(i) {
  const claims = { ...accessTokenClaims(i), permissions, azp: CLIENT_ID };
  const input = `${header}.${base64url(JSON.stringify(claims))}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}

let next = 0;
process.on("message", (message) => {
  if (message.type === "sign") {
    const tokens = Array.from({ length: message.count }, () => signToken(next++));
    process.send({ type: "tokens", tokens });
  }
  if (message.type === "close") process.exit(0);
});
process.send({ type: "ready", jwk });
