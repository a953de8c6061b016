// `pnpm --filter @repo/issuer rotate-keys [--retire]`: one step of the signing key lifecycle
// (see signing-keys.ts), applied to the keys folder; a running issuer picks it up on its next
// request, without a restart.
import { parseArgs } from "node:util";
import { readEnv } from "../env.js";
import { defaultKeysDir, devTenantPath } from "../package-paths.js";
import { type KeySet, retirePreviousKeys, rotateKeySet } from "../signing-keys.js";
import { loadTenant } from "../tenant.js";
import { parseOrExit } from "./args.js";

const args = parseOrExit(
  "pnpm --filter @repo/issuer rotate-keys [--retire] [--keys-dir apps/issuer/.keys]",
  (argv) =>
    parseArgs({
      args: argv,
      options: {
        retire: { type: "boolean", default: false },
        "keys-dir": { type: "string" },
      },
    }).values,
);

function describe(keySet: KeySet): string {
  return keySet.keys.map((key) => `  ${key.status.padEnd(8)} ${key.jwk.kid}`).join("\n");
}

try {
  const env = readEnv();
  const keysDir = args["keys-dir"] ?? env.ISSUER_KEYS_DIR ?? defaultKeysDir;
  let keySet: KeySet;
  if (args.retire) {
    keySet = await retirePreviousKeys(keysDir);
    console.info(`retired the previous signing keys in ${keysDir}:\n${describe(keySet)}`);
  } else {
    // A superseded key stays published as long as a token it signed can still be valid.
    const tenant = loadTenant(env.ISSUER_TENANT ?? devTenantPath);
    const graceSeconds = Math.max(0, ...tenant.apis.map((api) => api.tokenLifetime));
    keySet = await rotateKeySet(keysDir, { graceSeconds });
    console.info(`rotated the signing keys in ${keysDir}:\n${describe(keySet)}`);
  }
} catch (error) {
  console.error(`rotate-keys: ${(error as Error).message}`);
  process.exit(1);
}
