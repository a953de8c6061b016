// The commands as a developer runs them: separate processes against a real issuer.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningIssuer, startIssuer } from "../src/index.js";
import { runtimeSupportNotice } from "../src/runtime-support.js";
import { copyOfTestKeys } from "./support/keys-dir.js";

const packageDir = fileURLToPath(new URL("../", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

let keysDir: string;
let issuer: RunningIssuer;

beforeAll(async () => {
  keysDir = await copyOfTestKeys();
  issuer = await startIssuer({ port: 0, keysDir, quiet: true });
});

afterAll(async () => {
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

function spawnSource(script: string, args: string[], env: Record<string, string>) {
  return spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@repo/source", script, ...args],
    { cwd: packageDir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
}

async function finished(child: ChildProcess) {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const [code] = await once(child, "exit");
  return { code: code as number | null, stdout, stderr };
}

function run(script: string, args: string[], env: Record<string, string> = {}) {
  return finished(spawnSource(script, args, env));
}

// Each command is its own process: they run side by side to keep the suite short.
describe.concurrent("commands", () => {
  describe("token", () => {
    it("prints only a fresh access token", async () => {
      const { code, stdout } = await run("src/cli/token.ts", ["--", "--client", "dev-reader"], {
        ISSUER_PORT: String(issuer.port),
      });
      expect(code).toBe(0);
      expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(decodeProtectedHeader(stdout.trim()).kid).toBe(issuer.signingKid());
    });

    it("runs as `pnpm get-token` from the repository root, printing the token alone", async () => {
      const child = spawn("pnpm", ["get-token", "--client", "dev-reader"], {
        cwd: repoRoot,
        env: { ...process.env, ISSUER_PORT: String(issuer.port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const { code, stdout, stderr } = await finished(child);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      expect(decodeProtectedHeader(stdout.trim()).kid).toBe(issuer.signingKid());
    });

    it("fails with the issuer's answer and prints no token", async () => {
      const result = await run(
        "src/cli/token.ts",
        ["--client", "dev-reader", "--scope", "write:items"],
        {
          ISSUER_PORT: String(issuer.port),
        },
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("access_denied");
    });
  });

  describe("rotate-keys", () => {
    it("rotates the keys of a running issuer without a restart", async () => {
      const ownKeysDir = await copyOfTestKeys();
      const own = await startIssuer({ port: 0, keysDir: ownKeysDir, quiet: true });
      try {
        const before = own.signingKid();
        const { code, stdout } = await run("src/cli/rotate-keys.ts", ["--keys-dir", ownKeysDir]);
        expect(code).toBe(0);
        expect(stdout).toContain(before);
        const token = (await own.requestToken()).access_token;
        expect(decodeProtectedHeader(token).kid).not.toBe(before);
      } finally {
        await own.close();
        await rm(ownKeysDir, { recursive: true, force: true });
      }
    });
  });

  describe("main", () => {
    it("exits 1 naming the port when it is taken", async () => {
      const { code, stderr } = await run("src/main.ts", [], {
        ISSUER_PORT: String(issuer.port),
        ISSUER_KEYS_DIR: keysDir,
      });
      expect(code).toBe(1);
      expect(stderr).toContain(`port ${issuer.port} is already in use`);
      expect(stderr).not.toMatch(/^\s+at /m);
    });

    it("announces its URL when ready and stops cleanly on SIGTERM", async () => {
      const child = spawnSource("src/main.ts", [], { ISSUER_PORT: "0", ISSUER_KEYS_DIR: keysDir });
      const result = finished(child);
      const ready = new Promise<string>((resolve) => {
        let seen = "";
        child.stdout?.on("data", (chunk) => {
          seen += chunk;
          const match = /issuer ready at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
          if (match?.[1]) resolve(match[1]);
        });
      });
      const url = await ready;
      const discovery = await fetch(`${url}.well-known/openid-configuration`);
      expect(((await discovery.json()) as { issuer: string }).issuer).toBe(url);
      child.kill("SIGTERM");
      const { code, stderr } = await result;
      expect(code).toBe(0);
      // Once per start, on the Node.js releases the library warns about, and never on the others.
      const notices = stderr.match(/oidc-provider 9, the dev issuer's library/g) ?? [];
      expect(notices).toHaveLength(runtimeSupportNotice() === undefined ? 0 : 1);
    });
  });
});
