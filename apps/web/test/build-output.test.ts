import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const nextDir = fileURLToPath(new URL("../.next/", import.meta.url));

/**
 * Strings that survive minification and only exist in server-side code: the dev client secret (the
 * default in src/server/env.ts), the env variable holding it, the client-credentials request built
 * by @repo/auth, and @repo/auth's error codes.
 */
const serverOnlyMarkers = [
  "dev-writer-secret",
  "CLIENT_SECRET",
  "client_credentials",
  "grant_type",
  "token_endpoint",
  "ERR_TOKEN_",
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

function filesContaining(files: readonly string[], marker: string): string[] {
  return files.filter((file) => readFileSync(file, "latin1").includes(marker));
}

describe("the production build", () => {
  let clientFiles: string[];
  let serverFiles: string[];

  beforeAll(() => {
    if (!existsSync(join(nextDir, "BUILD_ID"))) {
      throw new Error(
        "apps/web has no production build (.next/BUILD_ID is missing): run `pnpm build` at the repository root first.",
      );
    }
    clientFiles = filesUnder(join(nextDir, "static"));
    serverFiles = filesUnder(join(nextDir, "server")).filter((file) =>
      /\.(js|mjs|cjs)$/.test(file),
    );
  });

  it("has client chunks to check", () => {
    expect(clientFiles.filter((file) => file.endsWith(".js")).length).toBeGreaterThan(0);
  });

  // Without this, a marker that no code contains would make the next test pass vacuously.
  it.each(serverOnlyMarkers)("bundles %s into the server output", (marker) => {
    expect(filesContaining(serverFiles, marker)).not.toEqual([]);
  });

  it.each(serverOnlyMarkers)("keeps %s out of every file sent to browsers", (marker) => {
    expect(filesContaining(clientFiles, marker)).toEqual([]);
  });
});
