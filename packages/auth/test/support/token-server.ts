import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the endpoint does with one POST. */
export type Behaviour =
  | {
      kind: "token";
      accessToken?: string;
      expiresIn?: number | string | null;
      tokenType?: string;
      scope?: string;
      /** Answer only after this many real ms (to keep a request in flight). */
      delayMs?: number;
      /** Answer only once this settles (to keep a request in flight until the test says). */
      gate?: Promise<unknown>;
    }
  | {
      kind: "json";
      status: number;
      body: unknown;
      headers?: Record<string, string>;
      delayMs?: number;
      gate?: Promise<unknown>;
    }
  | { kind: "garbage"; status?: number }
  | { kind: "oversize" }
  | { kind: "hang" }
  /** Sends the status line, headers and part of the body, then nothing more. */
  | { kind: "stall-body" };

export interface ReceivedRequest {
  readonly params: URLSearchParams;
  readonly authorization: string | undefined;
  /** The request's `DPoP` proof header. */
  readonly dpop: string | undefined;
}

export interface TokenServer {
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** POSTs received so far. */
  readonly requests: number;
  readonly received: readonly ReceivedRequest[];
  /** Queue behaviours for the next POSTs; when empty, `fallback` answers. */
  queue(...behaviours: Behaviour[]): void;
  /** The behaviour once the queue is empty. Default: a fresh token valid 3 600 s. */
  fallback: Behaviour;
  /** The discovery document served at /.well-known/openid-configuration. */
  discovery: Record<string, unknown>;
  /** Resolves once `count` POSTs have arrived. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

/** A local OAuth token endpoint on 127.0.0.1 that counts requests and misbehaves on demand. */
export async function startTokenServer(): Promise<TokenServer> {
  const pending: Behaviour[] = [];
  const received: ReceivedRequest[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const sockets = new Set<Socket>();
  let issued = 0;
  let base = "";

  const server = createServer(async (req, res) => {
    if (req.method === "GET" && req.url === "/.well-known/openid-configuration") {
      return send(res, 200, api.discovery);
    }
    if (req.method !== "POST" || req.url !== "/oauth/token") return send(res, 404, {});
    const params = new URLSearchParams(await readBody(req));
    const dpop = typeof req.headers.dpop === "string" ? req.headers.dpop : undefined;
    received.push({ params, authorization: req.headers.authorization, dpop });
    for (const waiter of waiters.filter((w) => received.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    await answer(res, pending.shift() ?? api.fallback);
  });

  const answer = async (res: ServerResponse, behaviour: Behaviour) => {
    switch (behaviour.kind) {
      case "token": {
        issued++;
        if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
        await behaviour.gate;
        const body: Record<string, unknown> = {
          access_token: behaviour.accessToken ?? `token-${issued}`,
          token_type: behaviour.tokenType ?? "Bearer",
          expires_in: behaviour.expiresIn === undefined ? 3600 : behaviour.expiresIn,
        };
        if (behaviour.expiresIn === null) delete body.expires_in;
        if (behaviour.scope !== undefined) body.scope = behaviour.scope;
        return send(res, 200, body);
      }
      case "json":
        if (behaviour.delayMs) await new Promise((r) => setTimeout(r, behaviour.delayMs));
        await behaviour.gate;
        return send(res, behaviour.status, behaviour.body, behaviour.headers);
      case "garbage":
        res.writeHead(behaviour.status ?? 200, { "content-type": "text/html" });
        return res.end("<html>upstream unavailable</html>");
      case "oversize":
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(`{"access_token":"${"x".repeat(2 * 1024 * 1024)}"}`);
      case "stall-body":
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"access_token":"tok');
        return;
      case "hang":
        return;
    }
  };

  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  const api: TokenServer = {
    issuer: `${base}/`,
    tokenEndpoint: `${base}/oauth/token`,
    get requests() {
      return received.length;
    },
    received,
    queue: (...behaviours) => pending.push(...behaviours),
    fallback: { kind: "token" },
    discovery: { issuer: `${base}/`, token_endpoint: `${base}/oauth/token` },
    waitForRequests(count) {
      if (received.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close,
  };
  return api;
}

function send(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
