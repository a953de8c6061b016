import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** What the proxy does with a request. */
export type Fault =
  | { kind: "pass" }
  /** Keep the request open and never answer (until the fault changes or the proxy closes). */
  | { kind: "hang" }
  /** Destroy the connection without an answer. */
  | { kind: "reset" }
  /** Answer with this status (429, 503, …) and optional `Retry-After` seconds. */
  | { kind: "status"; status: number; retryAfter?: number };

export interface ProxyRequest {
  method: string;
  path: string;
  at: number;
  fault: Fault["kind"] | "refused";
}

export interface FaultProxy {
  readonly url: string;
  readonly port: number;
  /** Applies `fault` to requests whose path matches (all paths when `path` is omitted). */
  setFault(fault: Fault, path?: string | RegExp): void;
  /**
   * Answers the next requests to `path` with these faults, one each, in order; after them the
   * rules apply again. Deterministic where a rule switched by the test could race the client.
   */
  queueFaults(path: string, faults: readonly Fault[]): void;
  /** Back to passing everything through. */
  clearFaults(): void;
  /** Stops listening so new connections are refused (ECONNREFUSED), and drops open ones. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  /** Points the proxy at another upstream (a restarted server). */
  setTarget(target: string): void;
  /** Requests seen (including faulted ones), oldest first. */
  readonly requests: readonly ProxyRequest[];
  /** How many requests reached the proxy for `method path` since start or the last `resetCounts`. */
  count(path: string, method?: string): number;
  resetCounts(): void;
  close(): Promise<void>;
}

interface Rule {
  path: string | RegExp | undefined;
  fault: Fault;
}

const matches = (rule: Rule, path: string) =>
  rule.path === undefined ||
  (typeof rule.path === "string" ? rule.path === path : rule.path.test(path));

/**
 * An HTTP proxy on 127.0.0.1 that sits in front of a real server and fails on demand: it passes,
 * hangs, resets, answers an error status, or refuses connections altogether, and counts every
 * request per path so tests can assert how often a client really called.
 */
export async function startFaultProxy(initialTarget: string): Promise<FaultProxy> {
  let target = new URL(initialTarget);
  let rules: Rule[] = [];
  const queued = new Map<string, Fault[]>();
  const requests: ProxyRequest[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let agent = new Agent({ keepAlive: true, maxSockets: 64 });

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://proxy").pathname;
    const fault = queued.get(path)?.shift() ??
      rules.findLast((rule) => matches(rule, path))?.fault ?? { kind: "pass" };
    requests.push({ method: req.method ?? "GET", path, at: Date.now(), fault: fault.kind });
    switch (fault.kind) {
      case "pass":
        forward(req, res);
        return;
      case "hang":
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        req.resume();
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "status": {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
        req.resume();
        res.writeHead(fault.status, headers);
        res.end(JSON.stringify({ error: "temporarily_unavailable" }));
        return;
      }
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        const address = server.address();
        resolve(typeof address === "object" && address ? address.port : port);
      });
    });
  const dropConnections = () => {
    for (const res of hanging) res.destroy();
    for (const socket of sockets) socket.destroy();
  };
  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      dropConnections();
    });

  const port = await listen(0);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setFault(fault, path) {
      rules.push({ path, fault });
      // Requests held by an earlier "hang" would otherwise stay stuck forever.
      if (fault.kind !== "hang") for (const res of hanging) res.destroy();
    },
    queueFaults(path, faults) {
      queued.set(path, [...(queued.get(path) ?? []), ...faults]);
    },
    clearFaults() {
      rules = [];
      queued.clear();
      for (const res of hanging) res.destroy();
    },
    refuse: stopListening,
    async accept() {
      if (!server.listening) await listen(port);
    },
    setTarget(next) {
      target = new URL(next);
      agent.destroy();
      agent = new Agent({ keepAlive: true, maxSockets: 64 });
    },
    count(path, method) {
      return requests.filter(
        (r) => r.path === path && (method === undefined || r.method === method),
      ).length;
    },
    resetCounts() {
      requests.length = 0;
    },
    async close() {
      await stopListening();
      agent.destroy();
    },
  };
}
