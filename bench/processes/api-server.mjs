// Our API (the built `@repo/api`), configured like a deployment that trusts one issuer found by
// discovery, started by the HTTP benchmark as a separate process.
import { reportFailures } from "../lib/child.mjs";
import { memoryReport } from "../lib/server-memory.mjs";

reportFailures();

const api = await import("@repo/api");
const { issuerBaseURL, audience, databaseUrl, env: extra = {} } = JSON.parse(process.argv[2]);
// `{ "fastQueries": false }` serves every request through tRPC's Node adapter.
const options = JSON.parse(process.argv[3] ?? "{}");
const env = {
  NODE_ENV: "production",
  ISSUER_BASE_URL: issuerBaseURL,
  AUDIENCE: audience,
  PORT: "0",
  HOST: "127.0.0.1",
  LOG_LEVEL: "silent",
  // Postgres when the section names one, else the embedded PGlite in memory.
  ...(databaseUrl === undefined ? { DATA_DIR: "memory://" } : { DATABASE_URL: databaseUrl }),
  ...extra,
};
const parsed = api.parseEnv(env);
if (!parsed.ok) throw new Error(parsed.message);
const server = await api.startApiServer(parsed.config, { fastQueries: options.fastQueries });
process.send({ type: "ready", url: server.url });

process.on("message", async (message) => {
  if (message.type === "memory") process.send({ type: "memory", usage: memoryReport() });
  if (message.type === "cpu") process.send({ type: "cpu", usage: process.cpuUsage() });
  if (message.type === "close") {
    await server.close();
    process.exit(0);
  }
});
