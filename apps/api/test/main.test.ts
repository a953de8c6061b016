import type { ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startApiProcess } from "./fixtures/api-process.js";

// Runs the real entry point the way `pnpm dev` does (TypeScript sources through tsx), as a child
// process with a controlled environment.
const children = new Set<ChildProcess>();

function startMain(env: Record<string, string>) {
  const main = startApiProcess(env);
  children.add(main.child);
  return main;
}

afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  children.clear();
});

// The issuer is not needed: the API starts (not ready) while its authorization server is down.
const UNREACHABLE_ISSUER = "http://127.0.0.1:9/";

describe("main", () => {
  it("exits 1 naming every bad variable", async () => {
    const main = startMain({ PORT: "http", AUDIENCE: ",", TOKEN_SIGNING_ALG: "none" });
    expect((await main.exited).code).toBe(1);
    const output = main.lines.join("\n");
    expect(output).toContain("PORT:");
    expect(output).toContain("AUDIENCE:");
    expect(output).toContain("TOKEN_SIGNING_ALG:");
  });

  it("logs the listening URL for PORT=0 and exits 0 on SIGTERM", async () => {
    const main = startMain({ PORT: "0", ISSUER_BASE_URL: UNREACHABLE_ISSUER });
    const line = await main.waitForLine((text) => text.includes('"msg":"listening"'));
    const { url } = JSON.parse(line) as { url: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);

    main.child.kill("SIGTERM");
    expect((await main.exited).code).toBe(0);
  });

  it("exits 1 naming the port when it is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const main = startMain({ PORT: String(port), ISSUER_BASE_URL: UNREACHABLE_ISSUER });
      expect((await main.exited).code).toBe(1);
      expect(main.lines.join("\n")).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      blocker.close();
    }
  });
});
