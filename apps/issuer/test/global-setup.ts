import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureKeySet } from "../src/signing-keys.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A keys folder generated once per run, copied by tests that do not test key generation. */
    issuerKeysTemplate: string;
  }
}

// RSA key generation is the costliest step of starting an issuer on a shared machine; one set of
// keys serves every test that does not test generation itself.
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "issuer-keys-template-"));
  await ensureKeySet(dir);
  project.provide("issuerKeysTemplate", dir);
  return () => rm(dir, { recursive: true, force: true });
}
