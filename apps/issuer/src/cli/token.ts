// `pnpm get-token [--client dev-writer] [--audience …] [--scope …]`: prints a fresh access token from
// the running dev issuer, and nothing else on stdout, so that it fits in a curl command.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { readEnv } from "../env.js";
import { defaultKeysDir, devTenantPath } from "../package-paths.js";
import { loadTenant } from "../tenant.js";
import { certificatePath } from "../tls-certificate.js";
import { requestToken, TokenRequestError } from "../token-request.js";
import { parseOrExit } from "./args.js";

const args = parseOrExit(
  "pnpm get-token [--client dev-writer] [--audience https://api.example.local] [--scope read:items]",
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
  const issuer = `${env.ISSUER_HTTPS ? "https" : "http"}://127.0.0.1:${port}/`;
  const ca = env.ISSUER_HTTPS
    ? await readFile(certificatePath(env.ISSUER_KEYS_DIR ?? defaultKeysDir), "utf8")
    : undefined;
  try {
    const request = {
      clientId: args.client,
      ...(args.audience ? { audience: args.audience } : {}),
      ...(args.scope ? { scope: args.scope } : {}),
    };
    const token = await requestToken(new URL("oauth/token", issuer).href, tenant, request, ca);
    process.stdout.write(`${token.access_token}\n`);
  } catch (error) {
    if (error instanceof TokenRequestError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ECONNREFUSED") {
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
