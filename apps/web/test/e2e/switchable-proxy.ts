import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface SwitchableProxy {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  /** From now on every request is answered 503 with `Retry-After: 1`. */
  fail(): void;
  /** From now on GET requests are forwarded to the target again. */
  pass(): void;
  /** Requests answered 503 so far: proof that the failure was actually seen. */
  readonly refused: number;
  close(): Promise<void>;
}

/**
 * A real HTTP server in front of `target` (an origin) that forwards GET requests, or answers 503
 * while switched to failing: a dependency that goes down and comes back without restarting
 * anything behind it.
 */
export async function startSwitchableProxy(target: string): Promise<SwitchableProxy> {
  let failing = false;
  let refused = 0;
  const server = createServer((req, res) => {
    if (failing || req.method !== "GET") {
      refused += 1;
      res.writeHead(503, { "content-type": "text/plain", "retry-after": "1" });
      res.end("unavailable");
      return;
    }
    fetch(new URL(req.url ?? "/", target)).then(
      async (upstream) => {
        const type = upstream.headers.get("content-type");
        res.writeHead(upstream.status, type ? { "content-type": type } : {});
        res.end(Buffer.from(await upstream.arrayBuffer()));
      },
      () => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("upstream unreachable");
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    fail() {
      failing = true;
    },
    pass() {
      failing = false;
    },
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
