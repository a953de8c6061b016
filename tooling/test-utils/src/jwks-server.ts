import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the server answers JWKS (and optionally discovery) requests. */
export type JwksBehaviour =
  | { kind: "ok" }
  | { kind: "status"; status: number }
  | { kind: "hang" }
  | { kind: "delay"; ms: number }
  | { kind: "hang-body" }
  | { kind: "body"; body: string; contentType?: string }
  | { kind: "huge"; bytes: number; declareLength: boolean }
  | { kind: "redirect"; location: string }
  | { kind: "reset" };

export interface JwksServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The issuer served by discovery: `<origin>/`. */
  issuer: string;
  jwksUri: string;
  /** Replaces the published keys (rotation). */
  setKeys(keys: readonly object[]): void;
  /** Changes how the JWKS endpoint answers. */
  setBehaviour(behaviour: JwksBehaviour): void;
  /** Changes how the discovery endpoints answer (`ok` serves metadata). */
  setDiscoveryBehaviour(behaviour: JwksBehaviour): void;
  /** Overrides the discovery document. */
  setDiscoveryDocument(document: unknown): void;
  /**
   * Publishes a JWKS at another `path` as well (where a provider moved its keys), answering as
   * `behaviour` says; returns its URL. Calling again for the same path replaces both.
   */
  serveJwksAt(path: string, keys: readonly object[], behaviour?: JwksBehaviour): string;
  /** Requests received per path. */
  count(path: string): number;
  /** Total requests received. */
  total(): number;
  /** Resolves once `path` has received `n` requests in total. */
  waitForRequests(path: string, n: number): Promise<void>;
  close(): Promise<void>;
}

const JWKS_PATH = "/.well-known/jwks.json";
const OIDC_PATH = "/.well-known/openid-configuration";

/**
 * A real JWKS + discovery server on 127.0.0.1 (random port) that can be told to fail, hang, lie,
 * redirect or rotate keys, and counts every request. Hanging responses are released on close.
 */
export async function startJwksServer(initialKeys: readonly object[] = []): Promise<JwksServer> {
  let keys = [...initialKeys];
  let behaviour: JwksBehaviour = { kind: "ok" };
  let discoveryBehaviour: JwksBehaviour = { kind: "ok" };
  let discoveryDocument: unknown;
  const movedJwks = new Map<string, { keys: readonly object[]; behaviour: JwksBehaviour }>();
  const counts = new Map<string, number>();
  const waiters = new Set<() => void>();
  const hanging = new Set<ServerResponse>();

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    for (const wake of waiters) wake();
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (path === JWKS_PATH) return answer(response, behaviour, () => ({ keys }));
    const moved = movedJwks.get(path);
    if (moved) return answer(response, moved.behaviour, () => ({ keys: moved.keys }));
    if (path === OIDC_PATH || path.startsWith("/.well-known/oauth-authorization-server")) {
      return answer(
        response,
        discoveryBehaviour,
        () => discoveryDocument ?? { issuer: `${origin}/`, jwks_uri: `${origin}${JWKS_PATH}` },
      );
    }
    response.writeHead(404).end();
  });

  function answer(response: ServerResponse, current: JwksBehaviour, document: () => unknown): void {
    switch (current.kind) {
      case "ok":
        response
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(document()));
        return;
      case "status":
        response.writeHead(current.status, { "content-type": "text/plain" }).end("failure");
        return;
      case "hang":
        hanging.add(response);
        return;
      case "delay": {
        hanging.add(response);
        const body = JSON.stringify(document());
        setTimeout(() => {
          hanging.delete(response);
          response.writeHead(200, { "content-type": "application/json" }).end(body);
        }, current.ms).unref();
        return;
      }
      case "hang-body":
        response.writeHead(200, { "content-type": "application/json" });
        response.write('{"keys":[');
        hanging.add(response);
        return;
      case "body":
        response
          .writeHead(200, { "content-type": current.contentType ?? "application/json" })
          .end(current.body);
        return;
      case "huge": {
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        response.writeHead(200, {
          "content-type": "application/json",
          ...(current.declareLength ? { "content-length": String(current.bytes) } : {}),
        });
        let sent = 0;
        const pump = (): void => {
          while (sent < current.bytes) {
            const size = Math.min(chunk.length, current.bytes - sent);
            sent += size;
            if (!response.write(chunk.subarray(0, size))) {
              response.once("drain", pump);
              return;
            }
          }
          response.end();
        };
        response.on("error", () => {});
        pump();
        return;
      }
      case "redirect":
        response.writeHead(302, { location: current.location }).end();
        return;
      case "reset":
        response.socket?.destroy();
        return;
    }
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const close = async (): Promise<void> => {
    for (const response of hanging) response.destroy();
    hanging.clear();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  return {
    origin,
    issuer: `${origin}/`,
    jwksUri: `${origin}${JWKS_PATH}`,
    setKeys(next) {
      keys = [...next];
    },
    setBehaviour(next) {
      behaviour = next;
    },
    setDiscoveryBehaviour(next) {
      discoveryBehaviour = next;
    },
    setDiscoveryDocument(next) {
      discoveryDocument = next;
    },
    serveJwksAt(path, next, nextBehaviour = { kind: "ok" }) {
      movedJwks.set(path, { keys: [...next], behaviour: nextBehaviour });
      return `${origin}${path}`;
    },
    count: (path) => counts.get(path) ?? 0,
    total: () => [...counts.values()].reduce((sum, n) => sum + n, 0),
    waitForRequests(path, n) {
      return new Promise((resolve) => {
        const check = (): void => {
          if ((counts.get(path) ?? 0) >= n) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

export const JWKS_SERVER_PATHS = { jwks: JWKS_PATH, discovery: OIDC_PATH } as const;
