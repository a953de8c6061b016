import { spawnChildApp } from "./child-app.js";
import type { ChaosSystem } from "./system.js";

/**
 * `pnpm --filter @repo/issuer rotate-keys [--retire]`, the documented command, run beside the
 * running issuer as an operator runs it. With `retire`, the previous keys leave the JWKS at once (a
 * compromised key), so tokens they signed stop verifying as soon as an API refreshes its keys.
 */
export async function rotateSigningKeys(
  system: ChaosSystem,
  { retire = false }: { retire?: boolean } = {},
): Promise<void> {
  const command = spawnChildApp({
    name: retire ? "rotate-keys --retire" : "rotate-keys",
    command: "pnpm",
    args: [
      "--silent",
      "--filter",
      "@repo/issuer",
      "rotate-keys",
      ...(retire ? ["--retire"] : []),
      "--keys-dir",
      system.keysDir,
    ],
    env: { ISSUER_TENANT: system.tenantFile },
  });
  const status = await command.exited;
  if (status.code !== 0) throw new Error(`rotate-keys failed: ${command.tail()}`);
}
