import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inject } from "vitest";

/** A fresh keys folder holding the run's pre-generated current and next keys. */
export async function copyOfTestKeys(prefix = "issuer-keys-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await cp(inject("issuerKeysTemplate"), dir, { recursive: true });
  return dir;
}
