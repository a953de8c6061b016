import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

/**
 * A minimal OAuth 2.0 client-credentials token endpoint on 127.0.0.1 that counts the POSTs it
 * answers. Each token is an opaque string; `issued` maps it to the (possibly simulated) time it was
 * issued so callers can check that no expired token was handed out.
 */
export async function startTokenEndpoint({ expiresIn = 86_400, now = Date.now } = {}) {
  let posts = 0;
  const issued = new Map();
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/oauth/token") {
      res.writeHead(404).end();
      return;
    }
    posts += 1;
    req.resume();
    req.on("end", () => {
      const accessToken = `opaque-${randomUUID()}`;
      issued.set(accessToken, now());
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(
        JSON.stringify({ access_token: accessToken, token_type: "Bearer", expires_in: expiresIn }),
      );
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    tokenEndpoint: `http://127.0.0.1:${port}/oauth/token`,
    issued,
    get posts() {
      return posts;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}
