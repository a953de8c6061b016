// One process of the multi-process test: connects, says "ready", waits for "go" on stdin, then
// asks for a token CALLS times at once and prints what it got as one JSON line.
import { createInterface } from "node:readline";
import { redisStore } from "../../src/redis.js";
import { createClientCredentialsClient } from "../../src/token-client/index.js";

const { TOKEN_ENDPOINT, REDIS_URL, PREFIX, CALLS } = process.env;

const tokens = createClientCredentialsClient({
  tokenEndpoint: TOKEN_ENDPOINT,
  clientId: "svc",
  clientSecret: "svc-secret",
  audience: "https://api.example.local",
  store: redisStore({ url: REDIS_URL, prefix: PREFIX }),
});

await tokens.peekTokenSet();
process.stdout.write("ready\n");
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "go") break;
}
const results = await Promise.all(Array.from({ length: Number(CALLS) }, () => tokens.getToken()));
process.stdout.write(
  `${JSON.stringify({ tokens: [...new Set(results)], calls: results.length, stats: tokens.stats() })}\n`,
);
await tokens.close();
lines.close();
