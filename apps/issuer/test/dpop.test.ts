// RFC 9449 at the token endpoint, asked the way a DPoP client asks (oauth4webapi builds the proofs).
import { rm } from "node:fs/promises";
import { checkProof } from "@repo/test-utils";
import { decodeJwt } from "jose";
import * as oauth from "oauth4webapi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningIssuer, startIssuer } from "../src/index.js";
import { copyOfTestKeys } from "./support/keys-dir.js";

const AUDIENCE = "https://api.example.local";
let keysDir: string;
let issuer: RunningIssuer;
let nonceIssuer: RunningIssuer;

beforeAll(async () => {
  keysDir = await copyOfTestKeys();
  issuer = await startIssuer({ port: 0, keysDir, quiet: true });
  nonceIssuer = await startIssuer({ port: 0, keysDir, quiet: true, dpopNonce: true });
});

afterAll(async () => {
  await Promise.all([issuer?.close(), nonceIssuer?.close()]);
  await rm(keysDir, { recursive: true, force: true });
});

const SECRETS: Record<string, string> = {
  "dev-dpop": "dev-dpop-secret",
  "dev-writer": "dev-writer-secret",
};

function newKeyPair() {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** One token request; `dpop` attaches a proof, `proofs` collects what was sent. */
async function tokenRequest(
  clientId: string,
  options: { dpop?: oauth.DPoPHandle; at?: RunningIssuer; proofs?: string[] } = {},
) {
  const at = options.at ?? issuer;
  const as = { issuer: at.issuer, token_endpoint: at.tokenEndpoint };
  const client = { client_id: clientId };
  return oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretPost(SECRETS[clientId] ?? ""),
    new URLSearchParams({ audience: AUDIENCE }),
    {
      [oauth.allowInsecureRequests]: true,
      ...(options.dpop ? { DPoP: options.dpop } : {}),
      [oauth.customFetch]: (url, init) => {
        if (init.headers.dpop) options.proofs?.push(init.headers.dpop);
        return fetch(url, init);
      },
    },
  );
}

async function answer(response: Response) {
  return {
    status: response.status,
    body: (await response.json()) as Record<string, string>,
    nonce: response.headers.get("dpop-nonce"),
  };
}

describe("DPoP at the token endpoint", () => {
  it("binds the token to the proof's key: token_type DPoP, cnf.jkt its thumbprint", async () => {
    const dpop = oauth.DPoP({}, await newKeyPair());
    const proofs: string[] = [];
    const { status, body, nonce } = await answer(await tokenRequest("dev-dpop", { dpop, proofs }));
    expect(status).toBe(200);
    expect(body.token_type).toBe("DPoP");
    const claims = decodeJwt(body.access_token ?? "");
    expect(claims.cnf).toEqual({ jkt: await dpop.calculateThumbprint() });
    expect(claims).toMatchObject({ sub: "dev-dpop@clients", azp: "dev-dpop" });
    const [proof] = proofs;
    const checked = await checkProof(proof ?? "", { method: "POST", url: issuer.tokenEndpoint });
    expect(checked.jkt).toBe(await dpop.calculateThumbprint());
    expect(nonce).toBeTruthy();
  });

  it("refuses dev-dpop a token without a proof, saying why", async () => {
    const { status, body } = await answer(await tokenRequest("dev-dpop"));
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: "invalid_request" });
    expect(body.error_description).toContain("DPoP proof is required");
  });

  it("keeps Bearer tokens without cnf for the other clients when they send no proof", async () => {
    const { status, body } = await answer(await tokenRequest("dev-writer"));
    expect(status).toBe(200);
    expect(body.token_type).toBe("Bearer");
    expect(decodeJwt(body.access_token ?? "").cnf).toBeUndefined();
  });

  it("refuses a proof for another URL, and the same proof twice", async () => {
    const elsewhere = oauth.DPoP({}, await newKeyPair(), {
      [oauth.modifyAssertion]: (_header, payload) => {
        payload.htu = "https://elsewhere.example/oauth/token";
      },
    });
    const wrongUrl = await answer(await tokenRequest("dev-dpop", { dpop: elsewhere }));
    expect(wrongUrl).toMatchObject({ status: 400, body: { error: "invalid_dpop_proof" } });

    const proofs: string[] = [];
    const dpop = oauth.DPoP({}, await newKeyPair());
    expect((await tokenRequest("dev-dpop", { dpop, proofs })).status).toBe(200);
    const replay = await fetch(issuer.tokenEndpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", dpop: proofs[0] ?? "" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: "dev-dpop",
        client_secret: "dev-dpop-secret",
        audience: AUDIENCE,
      }),
    });
    expect(await answer(replay)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("publishes the proof algorithms it accepts", async () => {
    const discovery = await fetch(`${issuer.issuer}.well-known/openid-configuration`);
    const metadata = (await discovery.json()) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toContain("ES256");
  });
});

describe("DPoP nonces at the token endpoint (dpopNonce)", () => {
  it("answers a proof without a nonce use_dpop_nonce with one, and accepts it next", async () => {
    const dpop = oauth.DPoP({}, await newKeyPair());
    const proofs: string[] = [];
    const first = await answer(await tokenRequest("dev-dpop", { dpop, proofs, at: nonceIssuer }));
    expect(first).toMatchObject({ status: 400, body: { error: "use_dpop_nonce" } });
    expect(first.nonce).toBeTruthy();
    const second = await answer(await tokenRequest("dev-dpop", { dpop, proofs, at: nonceIssuer }));
    expect(second).toMatchObject({ status: 200, body: { token_type: "DPoP" } });
    const url = nonceIssuer.tokenEndpoint;
    expect((await checkProof(proofs[1] ?? "", { method: "POST", url })).nonce).toBe(first.nonce);
  });
});
