import { createServer } from "node:http";

/**
 * A provider's JWKS endpoint on 127.0.0.1 that counts the key-set fetches it serves, so that
 * benchmarks can report how many fetches a verifier made.
 */
export async function startJwksServer(keys) {
  const body = JSON.stringify({ keys: keys.map((key) => key.jwk) });
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/.well-known/jwks.json") {
      fetches += 1;
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=600" });
      res.end(body);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    jwksUri: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    get fetches() {
      return fetches;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
