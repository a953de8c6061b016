import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { JWTHeaderParameters, JWTPayload } from "jose";
import type { errors, Provider } from "oidc-provider";
import { createAuth0Provider, routes } from "./auth0-provider.js";
import { fileVersion } from "./file-version.js";
import { renderHomePage } from "./home-page.js";
import {
  InvalidRequestBody,
  isFormOrEmpty,
  isJsonRequest,
  jsonToFormRequest,
  UNSUPPORTED_BODY,
} from "./json-token-request.js";
import { createMemoryStore } from "./memory-store.js";
import { defaultKeysDir, devTenantPath } from "./package-paths.js";
import { signAccessToken } from "./sign-access-token.js";
import {
  currentKey,
  ensureKeySet,
  type KeySet,
  keysFileVersion,
  readKeySet,
  retirePreviousKeys,
  rotateKeySet,
} from "./signing-keys.js";
import { loadTenant, parseTenant, type Tenant, type TenantConfig, TenantError } from "./tenant.js";
import { certificatePath, ensureTlsCertificate } from "./tls-certificate.js";
import { requestToken, type TokenRequest, type TokenResponse } from "./token-request.js";

export interface StartIssuerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /**
   * The URL clients reach this server at, when it is not `http://HOST:PORT/` (in a container
   * network, say, `http://issuer:4400/`): the `iss` of its tokens and of its discovery document.
   * The endpoint URLs there follow the host name each client used, as they always do.
   */
  publicUrl?: string;
  /** APIs and clients, fixed for the life of the server. */
  tenant?: TenantConfig;
  /**
   * A tenant file, re-read when it changes (so a new API or client needs no restart); used when
   * `tenant` is not given. Default `tenant.dev.json`.
   */
  tenantFile?: string;
  /** Folder of the signing keys; default `apps/issuer/.keys/`. Tests pass a temporary folder. */
  keysDir?: string;
  /** Silences the issuer's own notices (key reloads); errors are still reported. */
  quiet?: boolean;
  /**
   * Serves HTTPS with a self-signed certificate kept in `keysDir` (`tls-cert.pem`), for clients
   * that only accept `https://` issuers; they must trust that certificate.
   */
  https?: boolean;
  /**
   * Every DPoP proof must carry a nonce this server issued (RFC 9449 §8): a request without one
   * is answered 400 `use_dpop_nonce` with a `DPoP-Nonce` header. Default false (nonces are
   * offered, not required).
   */
  dpopNonce?: boolean;
}

export interface RunningIssuer {
  /** `http://127.0.0.1:PORT/` (`https://` in HTTPS mode), with Auth0's trailing slash. */
  issuer: string;
  port: number;
  tokenEndpoint: string;
  jwksUri: string;
  /** In HTTPS mode: the certificate to trust (PEM) and the file that holds it. */
  certificate?: { pem: string; path: string };
  /** The tenant in use (the latest valid version of the tenant file). */
  readonly tenant: Tenant;
  /** The `kid` that signs new tokens. */
  signingKid(): string;
  /** One rotation step (see signing-keys.ts); resolves once new tokens use the new key. */
  rotateKeys(): Promise<void>;
  /** Drops superseded keys from the JWKS now; tokens they signed stop verifying. */
  retirePreviousKeys(): Promise<void>;
  /** Gets a token from this issuer's token endpoint with a tenant client's secret. */
  requestToken(request?: TokenRequest): Promise<TokenResponse>;
  /**
   * Signs any claims with the current signing key, bypassing every check: for tests that need a
   * token the endpoint would never issue (expired, another audience, missing claims). Defaults
   * are the claims of a `dev-writer`-style token for the tenant's first API; `undefined` removes
   * a claim.
   */
  signAccessToken(claims?: JWTPayload, header?: Partial<JWTHeaderParameters>): Promise<string>;
  /** Stops accepting connections and resolves once the port is free. */
  close(): Promise<void>;
}

function sendError(res: ServerResponse, status: number, error: string, description: string) {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(JSON.stringify({ error, error_description: description }));
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

function withTrailingSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

function sendHomePage(req: IncomingMessage, res: ServerResponse, page: string) {
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(req.method === "HEAD" ? undefined : page);
}

async function listen(server: Server, port: number, host: string) {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * oidc-provider validates static clients when first used; doing it now turns a bad client (an
 * unusable JWKS, say) into a tenant error at start instead of a failure at its first request.
 */
async function checkClients(provider: Provider, tenant: Tenant, source: string): Promise<void> {
  const issues: string[] = [];
  for (const [i, client] of tenant.clients.entries()) {
    try {
      await provider.Client.find(client.clientId);
    } catch (error) {
      const { error_description, message } = error as errors.OIDCProviderError;
      issues.push(`clients[${i}]: ${error_description ?? message}`);
    }
  }
  if (issues.length > 0) throw new TenantError(source, issues);
}

/**
 * Starts an Auth0-compatible authorization server for client credentials.
 *
 * The HTTP server outlives any one oidc-provider instance: when the keys file changes (a rotation
 * from this process or from `pnpm rotate-keys`) or the tenant file does, the next request builds
 * a provider from the new files and every later request uses it; requests already running finish
 * on the old one. An invalid new file is reported and the last good one stays in use.
 *
 * @example
 * const issuer = await startIssuer({ port: 0, keysDir: await mkdtemp(join(tmpdir(), "keys-")) });
 * const { access_token } = await issuer.requestToken({ clientId: "dev-reader" });
 * await issuer.close();
 */
export async function startIssuer(options: StartIssuerOptions = {}): Promise<RunningIssuer> {
  const tenantFile = options.tenant ? undefined : (options.tenantFile ?? devTenantPath);
  let tenantVersion = tenantFile ? await fileVersion(tenantFile) : undefined;
  let tenant = tenantFile
    ? loadTenant(tenantFile)
    : parseTenant(options.tenant, "passed to startIssuer");
  const keysDir = options.keysDir ?? defaultKeysDir;
  const host = options.host ?? "127.0.0.1";
  const notice = options.quiet ? () => {} : (message: string) => console.info(message);

  let keySet: KeySet = await ensureKeySet(keysDir);
  let keysVersion = await keysFileVersion(keysDir);
  let handle: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;
  let reloading: Promise<void> | undefined;

  const tls = options.https ? await ensureTlsCertificate(keysDir, host) : undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void serve(req, res);
  const server = tls ? createHttpsServer(tls, onRequest) : createServer(onRequest);
  const port = await listen(server, options.port ?? 0, host);
  // Past the start, a server error (out of file descriptors, say) is reported, not fatal.
  server.on("error", (error) => console.error("issuer: server error", error));
  const issuer = options.publicUrl
    ? withTrailingSlash(options.publicUrl)
    : `${tls ? "https" : "http"}://${hostForUrl(host)}:${port}/`;
  const devTenant = tenantFile !== undefined && resolve(tenantFile) === devTenantPath;

  const store = createMemoryStore();
  const dpop = { nonceSecret: randomBytes(32), requireNonce: options.dpopNonce ?? false };
  const tenantSource = tenantFile ?? "passed to startIssuer";
  const install = async (nextTenant: Tenant, nextKeys: KeySet) => {
    const provider = createAuth0Provider(issuer, nextTenant, nextKeys, store, dpop);
    await checkClients(provider, nextTenant, tenantSource);
    handle = provider.callback();
    tenant = nextTenant;
    keySet = nextKeys;
  };
  try {
    await install(tenant, keySet);
  } catch (error) {
    server.close();
    throw error;
  }

  async function readChangedKeys(): Promise<KeySet> {
    const version = await keysFileVersion(keysDir);
    if (version === keysVersion) return keySet;
    keysVersion = version;
    try {
      const next = (await readKeySet(keysDir)) ?? (await ensureKeySet(keysDir));
      const kid = currentKey(next).jwk.kid;
      if (kid !== currentKey(keySet).jwk.kid) notice(`issuer: now signing with kid ${kid}`);
      return next;
    } catch (error) {
      // A broken keys file must not take the issuer down: keep the keys in use and say why.
      console.error(`issuer: keeping the current signing keys: ${(error as Error).message}`);
      return keySet;
    }
  }

  async function readChangedTenant(): Promise<Tenant> {
    if (!tenantFile) return tenant;
    const version = await fileVersion(tenantFile);
    if (version === tenantVersion) return tenant;
    tenantVersion = version;
    try {
      const next = loadTenant(tenantFile);
      notice(`issuer: reloaded the tenant from ${tenantFile}`);
      return next;
    } catch (error) {
      console.error(`issuer: keeping the current tenant: ${(error as Error).message}`);
      return tenant;
    }
  }

  async function reload(): Promise<void> {
    const [nextKeys, nextTenant] = await Promise.all([readChangedKeys(), readChangedTenant()]);
    if (nextKeys === keySet && nextTenant === tenant) return;
    try {
      await install(nextTenant, nextKeys);
    } catch (error) {
      console.error(`issuer: keeping the current configuration: ${(error as Error).message}`);
    }
  }

  function refresh(): Promise<void> {
    reloading ??= reload().finally(() => {
      reloading = undefined;
    });
    return reloading;
  }

  // A reload that started before our own write may have read the old file: wait for it, then look
  // again, so the change is in effect when rotateKeys() resolves.
  async function applyOwnChange(): Promise<void> {
    await reloading;
    await refresh();
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await refresh();
      let request = req;
      const path = req.url?.split("?")[0];
      if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
        sendHomePage(req, res, renderHomePage({ issuer, tenant, devTenant }));
        return;
      }
      if (req.method === "POST" && path === routes.token) {
        if (isJsonRequest(req)) request = await jsonToFormRequest(req);
        else if (!isFormOrEmpty(req)) throw new InvalidRequestBody(UNSUPPORTED_BODY);
      }
      if (handle) handle(request, res);
      else sendError(res, 503, "temporarily_unavailable", "the issuer is starting");
    } catch (error) {
      if (error instanceof InvalidRequestBody) {
        sendError(res, 400, "invalid_request", error.message);
      } else {
        console.error("issuer: request failed", error);
        sendError(res, 500, "server_error", "the issuer failed to handle the request");
      }
    }
  }

  const tokenEndpoint = new URL(routes.token, issuer).href;
  let closing: Promise<void> | undefined;

  return {
    issuer,
    port,
    tokenEndpoint,
    jwksUri: new URL(routes.jwks, issuer).href,
    get tenant() {
      return tenant;
    },
    signingKid: () => currentKey(keySet).jwk.kid,
    async rotateKeys() {
      const graceSeconds = Math.max(0, ...tenant.apis.map((api) => api.tokenLifetime));
      await rotateKeySet(keysDir, { graceSeconds });
      await applyOwnChange();
    },
    async retirePreviousKeys() {
      await retirePreviousKeys(keysDir);
      await applyOwnChange();
    },
    ...(tls ? { certificate: { pem: tls.cert, path: certificatePath(keysDir) } } : {}),
    requestToken: (request) => requestToken(tokenEndpoint, tenant, request, tls?.cert),
    signAccessToken: (claims, header) =>
      signAccessToken(currentKey(keySet).jwk, issuer, tenant, claims, header),
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive connections would hold the port; requests in flight may finish.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      });
      return closing;
    },
  };
}
