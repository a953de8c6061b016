// `pnpm -s token [--client dev-writer] [--audience …] [--scope …]`: prints a fresh access token from
// the running dev issuer, and nothing else on stdout, so that it fits in a curl command.
import { parseArgs } from "node:util";
import { readEnv } from "../env.js";
import { devTenantPath } from "../package-paths.js";
import { loadTenant } from "../tenant.js";
import { requestToken, TokenRequestError } from "../token-request.js";
import { parseOrExit } from "./args.js";

const args = parseOrExit(
  "pnpm -s token [--client dev-writer] [--audience https://api.example.local] [--scope read:items]",
  (argv) =>
    parseArgs({
      args: argv,
      options: {
        client: { type: "string", default: "dev-writer" },
        audience: { type: "string" },
        scope: { type: "string" },
      },
    }).values,
);

try {
  const env = readEnv();
  const port = env.ISSUER_PORT === 0 ? 4400 : env.ISSUER_PORT;
  const tenant = loadTenant(env.ISSUER_TENANT ?? devTenantPath);
  const issuer = `http://127.0.0.1:${port}/`;
  try {
    const token = await requestToken(new URL("oauth/token", issuer).href, tenant, {
      clientId: args.client,
      ...(args.audience ? { audience: args.audience } : {}),
      ...(args.scope ? { scope: args.scope } : {}),
    });
    process.stdout.write(`${token.access_token}\n`);
  } catch (error) {
    if (error instanceof TokenRequestError) throw error;
    const cause = (error as Error).cause as NodeJS.ErrnoException | undefined;
    if (cause?.code === "ECONNREFUSED" || (error as Error).name === "TimeoutError") {
      throw new Error(
        `no issuer answers at ${issuer}; start it with \`pnpm --filter @repo/issuer dev\` (or set ISSUER_PORT)`,
      );
    }
    throw error;
  }
} catch (error) {
  console.error(`token: ${(error as Error).message}`);
  process.exit(1);
}
