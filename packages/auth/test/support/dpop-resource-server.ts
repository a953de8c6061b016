import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type CheckedProof, checkProof, ProofError } from "@repo/test-utils";

/** One request the server accepted. */
export interface AcceptedRequest {
  readonly method: string;
  readonly url: string;
  readonly accessToken: string;
  readonly proof: CheckedProof;
  /** The body, when the server has no `handler` (which reads it). */
  readonly body: string;
}

export interface DpopResourceServerOptions {
  /**
   * Server nonces (RFC 9449 §9). `off`: none. `required`: a proof must carry the current nonce;
   * every answer offers it. `always-new`: every request is answered `use_dpop_nonce` with a new
   * nonce, as a server whose nonces expire at once would.
   */
  nonce?: "off" | "required" | "always-new";
  /** Answers accepted requests (and reads their body); default a JSON echo. */
  handler?: (req: IncomingMessage, res: ServerResponse, accepted: AcceptedRequest) => void;
}

export interface DpopResourceServer {
  readonly url: string;
  /** Every request that arrived, accepted or not. */
  readonly arrivals: Array<{ authorization: string | undefined; proof: string | undefined }>;
  readonly accepted: AcceptedRequest[];
  /** Tokens answered 401 `invalid_token`. */
  readonly revoked: Set<string>;
  /** The key thumbprint a token must be bound to; unset accepts any key. */
  boundTo: string | undefined;
  close(): Promise<void>;
}

/**
 * A resource server on 127.0.0.1 that accepts only DPoP-bound requests, checking every proof
 * itself (see dpop-proof.ts): scheme `DPoP`, one proof, the right key, no `jti` twice, nonces.
 */
export async function startDpopResourceServer(
  options: DpopResourceServerOptions = {},
): Promise<DpopResourceServer> {
  const mode = options.nonce ?? "off";
  const seenJti = new Set<string>();
  let nonce = randomUUID();
  let base = "";

  const challenge = (res: ServerResponse, error: string, headers: Record<string, string> = {}) => {
    res.writeHead(401, {
      "www-authenticate": `DPoP error="${error}", algs="ES256"`,
      ...headers,
    });
    res.end();
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    if (!options.handler) for await (const chunk of req) chunks.push(chunk as Buffer);
    const proofHeader = req.headers.dpop;
    const proof = typeof proofHeader === "string" ? proofHeader : undefined;
    api.arrivals.push({ authorization: req.headers.authorization, proof });
    const [scheme, accessToken, extra] = (req.headers.authorization ?? "").split(" ");
    if (scheme !== "DPoP" || !accessToken || extra !== undefined || !proof) {
      return challenge(res, "invalid_request");
    }
    let checked: CheckedProof;
    try {
      checked = await checkProof(proof, {
        method: req.method ?? "",
        url: base + (req.url ?? "/"),
        accessToken,
      });
    } catch (err) {
      if (err instanceof ProofError) return challenge(res, "invalid_dpop_proof");
      throw err;
    }
    if (seenJti.has(checked.jti)) return challenge(res, "invalid_dpop_proof");
    seenJti.add(checked.jti);
    if (mode === "always-new" || (mode === "required" && checked.nonce !== nonce)) {
      if (mode === "always-new") nonce = randomUUID();
      return challenge(res, "use_dpop_nonce", { "dpop-nonce": nonce });
    }
    if (api.boundTo !== undefined && checked.jkt !== api.boundTo) {
      return challenge(res, "invalid_token");
    }
    if (api.revoked.has(accessToken)) return challenge(res, "invalid_token");
    if (mode === "required") res.setHeader("dpop-nonce", nonce);
    const accepted: AcceptedRequest = {
      method: req.method ?? "",
      url: req.url ?? "",
      accessToken,
      proof: checked,
      body: Buffer.concat(chunks).toString("utf8"),
    };
    api.accepted.push(accepted);
    if (options.handler) return options.handler(req, res, accepted);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ method: accepted.method, body: accepted.body }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const api: DpopResourceServer = {
    url: base,
    arrivals: [],
    accepted: [],
    revoked: new Set(),
    boundTo: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}
