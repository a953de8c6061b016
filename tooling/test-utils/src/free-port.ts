import { createServer } from "node:net";

/**
 * A port on 127.0.0.1 that was free a moment ago, for programs that take a port number rather than
 * binding port 0 themselves (redis-server, `next start`), or that must come back on the same
 * address after a restart.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
