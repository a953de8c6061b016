// One instance of a scaled-out caller: a token client sharing its cache through Redis. The token
// benchmark starts several of these and releases them at the same moment.
import { reportFailures } from "../lib/child.mjs";
import { CLIENT_ID } from "../lib/fixtures.mjs";
import { auth, authRedis } from "../lib/repo-auth.mjs";

reportFailures();

const { tokenEndpoint, audience, prefix, calls, redisUrl } = JSON.parse(process.argv[2]);
const tokens = auth.createClientCredentialsClient({
  tokenEndpoint,
  clientId: CLIENT_ID,
  clientSecret: "bench-secret",
  audience,
  store: authRedis.redisStore({ url: redisUrl, prefix }),
});

process.on("message", async (message) => {
  if (message.type === "go") {
    const results = await Promise.all(Array.from({ length: calls }, () => tokens.getToken()));
    process.send({ type: "done", distinct: [...new Set(results)] });
  }
  if (message.type === "close") {
    await tokens.close();
    process.exit(0);
  }
});
process.send({ type: "ready" });
