import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { spawnChildApp } from "./child-app.js";
import { startFaultProxy } from "./fault-proxy.js";
import { useTeardown } from "./teardown.js";

const defer = useTeardown();

async function startUpstream() {
  const server = createServer((req, res) => res.end(`upstream ${req.url}`));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  defer(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${port}`;
}

const outcomeOf = async (url: string, timeoutMs = 2_000) => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return `${res.status} ${res.headers.get("retry-after") ?? ""} ${await res.text()}`.trim();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return `error:${cause?.code ?? (error as Error).name}`;
  }
};

describe("fault proxy", () => {
  it("passes, hangs, resets, answers errors and refuses on demand, counting each request", async () => {
    const proxy = await startFaultProxy(await startUpstream());
    defer(() => proxy.close());

    expect(await outcomeOf(`${proxy.url}/a?x=1`)).toBe("200  upstream /a?x=1");
    proxy.setFault({ kind: "status", status: 429, retryAfter: 7 }, "/a");
    expect(await outcomeOf(`${proxy.url}/a`)).toMatch(/^429 7 /);
    expect(await outcomeOf(`${proxy.url}/b`)).toBe("200  upstream /b");
    proxy.setFault({ kind: "hang" }, /^\/b/);
    expect(await outcomeOf(`${proxy.url}/b`, 300)).toBe("error:TimeoutError");
    proxy.setFault({ kind: "reset" });
    expect(await outcomeOf(`${proxy.url}/b`)).toMatch(/^error:/);
    proxy.clearFaults();
    proxy.queueFaults("/q", [
      { kind: "status", status: 503 },
      { kind: "status", status: 429 },
    ]);
    expect(await outcomeOf(`${proxy.url}/q`)).toMatch(/^503 /);
    expect(await outcomeOf(`${proxy.url}/q`)).toMatch(/^429 /);
    expect(await outcomeOf(`${proxy.url}/q`)).toBe("200  upstream /q");
    await proxy.refuse();
    // A kept-alive connection may be reset first; after that, connecting is refused.
    expect(await outcomeOf(`${proxy.url}/a`)).toMatch(/^error:/);
    expect(await outcomeOf(`${proxy.url}/a`)).toBe("error:ECONNREFUSED");
    await proxy.accept();
    expect(await outcomeOf(`${proxy.url}/a`)).toBe("200  upstream /a");

    expect(proxy.count("/a")).toBe(3);
    expect(proxy.count("/b", "GET")).toBe(3);
    expect(proxy.requests.map((r) => r.fault)).toEqual([
      "pass",
      "status",
      "pass",
      "hang",
      "reset",
      "status",
      "status",
      "pass",
      "pass",
    ]);
  });

  it("follows an upstream that moved", async () => {
    const proxy = await startFaultProxy(await startUpstream());
    defer(() => proxy.close());
    const other = await startUpstream();
    proxy.setTarget(other);
    expect(await outcomeOf(`${proxy.url}/moved`)).toBe("200  upstream /moved");
  });
});

describe("child app", () => {
  it("waits for a line, forwards SIGTERM to the group and reports the exit", async () => {
    const app = spawnChildApp({
      name: "echo",
      args: [
        "-e",
        "process.on('SIGTERM', () => { console.log('bye'); process.exit(3); }); setInterval(() => {}, 1000); console.log('ready');",
      ],
    });
    defer(() => app.stop("SIGKILL"));
    await app.waitForLine(/^ready$/);
    expect(await app.stop("SIGTERM")).toEqual({ code: 3, signal: null });
    await app.waitForLine(/^bye$/);
    expect(app.isRunning()).toBe(false);
  });
});
