// The peer: Express 5 with Auth0's express-oauth2-jwt-bearer `auth()`, serving the same `whoami`
// answer as the API. Started by the HTTP benchmark as a separate process.
import express from "express";
import { auth } from "express-oauth2-jwt-bearer";
import { reportFailures } from "../lib/child.mjs";
import { memoryReport } from "../lib/server-memory.mjs";

reportFailures();

const { issuerBaseURL, audience } = JSON.parse(process.argv[2]);
const app = express();
app.disable("x-powered-by");
app.get("/whoami", auth({ issuerBaseURL, audience, tokenSigningAlg: "RS256" }), (req, res) => {
  const claims = req.auth.payload;
  res.json({
    sub: claims.sub,
    clientId: claims.azp ?? claims.client_id,
    scopes: typeof claims.scope === "string" ? claims.scope.split(" ") : [],
    permissions: claims.permissions ?? [],
    expiresAt: claims.exp,
  });
});

const server = app.listen(0, "127.0.0.1", () => {
  process.send({ type: "ready", url: `http://127.0.0.1:${server.address().port}` });
});

process.on("message", (message) => {
  if (message.type === "memory") process.send({ type: "memory", usage: memoryReport() });
  if (message.type === "cpu") process.send({ type: "cpu", usage: process.cpuUsage() });
  if (message.type === "close") {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
