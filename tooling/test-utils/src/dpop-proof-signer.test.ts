import { describe, expect, it } from "vitest";
import { checkProof } from "./dpop-proof.js";
import { signProof, thumbprintOf } from "./dpop-proof-signer.js";
import { generateTestKey } from "./test-key.js";

describe("signProof", () => {
  it.each(["ES256", "RS256", "EdDSA"] as const)(
    "makes %s proofs that jose's checker accepts, with the key's thumbprint",
    async (alg) => {
      const key = generateTestKey("proof", { alg });
      const url = "http://127.0.0.1:4000/trpc/whoami";
      const proof = signProof(key, {
        url,
        accessToken: "a-token",
        iat: Math.floor(Date.now() / 1000),
        nonce: "n-1",
      });
      const checked = await checkProof(proof, { method: "GET", url, accessToken: "a-token" });
      expect(checked.jkt).toBe(await thumbprintOf(key));
      expect(checked.nonce).toBe("n-1");
    },
  );

  it("drops a member set to undefined, so bad proofs can be built", async () => {
    const key = generateTestKey("proof", { alg: "ES256" });
    const proof = signProof(key, { url: "http://x/", header: { jwk: undefined } });
    const header = JSON.parse(Buffer.from(proof.split(".")[0] as string, "base64url").toString());
    expect(header).toEqual({ alg: "ES256", typ: "dpop+jwt" });
  });
});
