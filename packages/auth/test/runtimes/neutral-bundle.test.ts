import { describe, expect, it } from "vitest";
import { bundle, type RuntimeTarget, TARGETS } from "./bundle.js";

// What the main entry pulls in on each runtime, bundled as that runtime's bundler would. The
// non-Node runtimes must get no Node built-in and no Buffer, and the WebCrypto backend; Node and
// Bun get node:crypto.
const entry = "./harness/public-api.ts";
const NODE_IMPORT = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)["']node:/;
const BUFFER = /\bBuffer\b/;
const asModule = (target: RuntimeTarget): RuntimeTarget => ({ ...target, format: "esm" });

describe("the main entry, bundled per runtime", () => {
  it.each([
    ["workerd", TARGETS.workerd],
    ["edge-light", asModule(TARGETS.edgeLight)],
    ["deno", TARGETS.deno],
    ["a runtime no condition names", { conditions: [], platform: "neutral", format: "esm" }],
  ] as const)("for %s: WebCrypto, no node: import and no Buffer", async (_, target) => {
    const code = await bundle(entry, target);
    expect(code).not.toMatch(NODE_IMPORT);
    expect(code).not.toMatch(BUFFER);
    expect(code).toContain("crypto.subtle.verify");
    expect(code).not.toContain("createPublicKey");
  });

  it("for Node and Bun: node:crypto", async () => {
    for (const target of [
      { conditions: ["node"], platform: "node", format: "esm" },
      TARGETS.bun,
    ] as const) {
      const code = await bundle(entry, target);
      expect(code).toMatch(NODE_IMPORT);
      expect(code).toContain("createPublicKey");
      expect(code).not.toContain("crypto.subtle.verify");
    }
  });

  it("leaves the Redis store out of the main entry", async () => {
    const code = await bundle(entry, { conditions: ["node"], platform: "node", format: "esm" });
    expect(code).not.toContain("ioredis");
  });
});
