// The commands as a developer runs them: separate processes against a real issuer.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { checkProof } from "@repo/test-utils";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningIssuer, startIssuer } from "../src/index.js";
import { runtimeSupportNotice } from "../src/runtime-support.js";
import { copyOfTestKeys } from "./support/keys-dir.js";

const packageDir = fileURLToPath(new URL("../", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

let keysDir: string;
let issuer: RunningIssuer;
let api: { url: string; server: Server; seen: Array<{ method: string; path: string }> };

/**
 * A stand-in for the API's tRPC endpoint that takes only DPoP: it checks each proof against the
 * token's `cnf.jkt`, asks once for its nonce, and answers with the call's input.
 */
async function startDpopApi() {
  const nonce = "api-nonce-1";
  const seen: Array<{ method: string; path: string }> = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    seen.push({ method: req.method ?? "", path: url.pathname });
    const [scheme, token] = (req.headers.authorization ?? "").split(" ");
    const refuse = (error: string, headers: Record<string, string> = {}) => {
      res.writeHead(401, { "www-authenticate": `DPoP error="${error}"`, ...headers }).end();
    };
    if (scheme !== "DPoP" || !token) return refuse("invalid_token");
    const proof = await checkProof(String(req.headers.dpop), {
      method: req.method ?? "",
      url: url.href,
      accessToken: token,
    }).catch(() => undefined);
    if (!proof || (decodeJwt(token).cnf as { jkt?: string })?.jkt !== proof.jkt) {
      return refuse("invalid_dpop_proof");
    }
    if (proof.nonce !== nonce) return refuse("use_dpop_nonce", { "dpop-nonce": nonce });
    const input = req.method === "GET" ? url.searchParams.get("input") : body;
    const data = { path: url.pathname, input: input ? JSON.parse(input) : null };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ result: { data } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/trpc`, server, seen };
}

beforeAll(async () => {
  keysDir = await copyOfTestKeys();
  issuer = await startIssuer({ port: 0, keysDir, quiet: true });
  api = await startDpopApi();
});

afterAll(async () => {
  await issuer?.close();
  await new Promise((resolve) => api?.server.close(resolve));
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

  describe("token --dpop", () => {
    it("prints a curl command with a DPoP-bound token and a proof for that request", async () => {
      const url = `${api.url}/items.list?input=%7B%7D`;
      const { code, stdout } = await run(
        "src/cli/token.ts",
        ["--dpop", "--url", url, "--method", "post"],
        { ISSUER_PORT: String(issuer.port) },
      );
      expect(code).toBe(0);
      const match =
        /^curl -X POST -H 'Authorization: DPoP ([\w.-]+)' -H 'DPoP: ([\w.-]+)' '(.+)'\n$/.exec(
          stdout,
        );
      const [, token = "", proof = "", printedUrl] = match ?? [];
      expect(printedUrl).toBe(url);
      const checked = await checkProof(proof, { method: "POST", url, accessToken: token });
      expect(decodeJwt(token)).toMatchObject({ azp: "dev-dpop", cnf: { jkt: checked.jkt } });
    });
  });

  describe("call", () => {
    const env = () => ({ ISSUER_PORT: String(issuer.port), API_URL: api.url });

    it("calls a query with DPoP, answering the API's nonce, and prints its result", async () => {
      const { code, stdout } = await run("src/cli/call.ts", ["whoami"], env());
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ path: "/trpc/whoami", input: null });
    });

    it("sends a mutation's input as a POST", async () => {
      const { code, stdout } = await run(
        "src/cli/call.ts",
        ["items.create", '{"name":"pen"}', "--mutation"],
        env(),
      );
      expect(code).toBe(0);
      expect(JSON.parse(stdout)).toEqual({ path: "/trpc/items.create", input: { name: "pen" } });
      expect(api.seen.filter((r) => r.path === "/trpc/items.create").map((r) => r.method)).toEqual([
        "POST",
        "POST",
      ]);
    });

    it("exits 1 with the API's challenge, and no token, when the call is refused", async () => {
      const { code, stdout, stderr } = await run("src/cli/call.ts", ["whoami", "--bearer"], env());
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toContain('WWW-Authenticate: DPoP error="invalid_token"');
      expect(stderr).not.toMatch(/ey[\w-]+\.ey/);
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
