import { rename, writeFile } from "node:fs/promises";
import { waitFor } from "@repo/test-utils";
import type { ChaosSystem } from "./system.js";

const RELOADED = /issuer: reloaded the tenant/;

/**
 * Replaces the issuer's tenant file and waits until the issuer serves the new tenant. The file is
 * written beside and renamed over the old one, so the issuer never reads half of it.
 */
export async function replaceTenant(system: ChaosSystem, tenant: unknown): Promise<void> {
  const reloads = () => system.issuer.lines().filter((line) => RELOADED.test(line)).length;
  const before = reloads();
  const next = `${system.tenantFile}.next`;
  await writeFile(next, JSON.stringify(tenant));
  await rename(next, system.tenantFile);
  // The issuer looks at its files on each request; one already running may have read the old one.
  await waitFor(
    async () => {
      await fetch(system.issuer.jwksUri);
      return reloads() > before;
    },
    { timeout: 10_000, message: "the issuer to reload its tenant" },
  );
}
