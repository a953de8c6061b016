import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { createFullPipe, freePort } from "@repo/test-utils";
import { afterAll, describe, expect, it, vi } from "vitest";

const root = resolve(import.meta.dirname, "..");

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function pnpmDev(env: Record<string, string>): Run {
  let output = "";
  const child = spawn("pnpm", ["dev"], {
    cwd: root,
    env: { ...process.env, ...env, NO_COLOR: "1", FORCE_COLOR: undefined },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, like a shell job: Ctrl-C is a SIGINT to the whole group.
    detached: true,
  });
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, output: () => output, exited };
}

// `node scripts/dev.mjs` itself, as a supervisor runs it, with its stdout given: a pipe or a fd.
function devScript(env: Record<string, string>, stdout: "pipe" | number): Run {
  let output = "";
  const child = spawn(process.execPath, ["scripts/dev.mjs"], {
    cwd: root,
    env: { ...process.env, ...env, NO_COLOR: "1", FORCE_COLOR: undefined },
    stdio: ["ignore", stdout, "pipe"],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk) => {
      output += chunk;
    });
  }
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  return { child, output: () => output, exited };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once("error", () => done(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () =>
      server.close(() => done(true)),
    );
  });
}

// Every process below `pid`, read from /proc (parent links), with its process group.
function descendants(pid: number): { pid: number; pgid: number }[] {
  const table = readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const [, ppid, pgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return [{ pid: Number(entry), ppid: Number(ppid), pgid: Number(pgid) }];
      } catch {
        return [];
      }
    });
  const found: { pid: number; pgid: number }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const proc of table.filter((p) => p.ppid === parent)) {
      found.push({ pid: proc.pid, pgid: proc.pgid });
      queue.push(proc.pid);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

// The process groups of every process started with `name=value` in its environment: the runner's
// children keep the ports they were given, also once the runner is gone and they are orphans.
function groupsWithEnv(name: string, value: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
        if (!environ.includes(`${name}=${value}`)) return [];
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        return [Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2])];
      } catch {
        return [];
      }
    });
}

// Whatever a failed test left running is killed, including process groups the runner created.
const started: Run[] = [];
const groups = new Set<number>();
const apiPorts: number[] = [];
afterAll(() => {
  for (const run of started) if (run.child.pid) groups.add(run.child.pid);
  for (const port of apiPorts)
    for (const pgid of groupsWithEnv("API_PORT", String(port))) groups.add(pgid);
  for (const pgid of groups) if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
});

describe("pnpm dev", () => {
  it("starts issuer, API and web, prints one banner, refuses a second copy and stops cleanly on Ctrl-C", async () => {
    const ports = { issuer: await freePort(), api: await freePort(), web: await freePort() };
    const env = {
      ISSUER_PORT: String(ports.issuer),
      API_PORT: String(ports.api),
      WEB_PORT: String(ports.web),
    };
    const dev = pnpmDev(env);
    started.push(dev);

    await vi.waitFor(
      () => {
        if (dev.child.exitCode !== null) throw new Error(`pnpm dev exited:\n${dev.output()}`);
        expect(dev.output()).toContain("ready in");
      },
      { timeout: 200_000, interval: 100 },
    );

    const issuerUrl = `http://127.0.0.1:${ports.issuer}/`;
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    const webUrl = `http://127.0.0.1:${ports.web}/`;
    const banner = dev.output().slice(dev.output().indexOf("ready in"));
    expect(banner).toContain(`web     ${webUrl}`);
    expect(banner).toContain(`api     ${apiUrl}/trpc`);
    expect(banner).toContain(`issuer  ${issuerUrl}`);
    expect(banner).toContain(
      `curl -H "Authorization: Bearer $(ISSUER_PORT=${ports.issuer} pnpm get-token)" ${apiUrl}/trpc/whoami`,
    );

    const discovery = await fetch(`${issuerUrl}.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect((await fetch(`${apiUrl}/readyz`)).status).toBe(200);
    expect((await fetch(webUrl)).status).toBeLessThan(500);

    // A second copy on the same ports stops before it builds or starts anything.
    const second = pnpmDev(env);
    started.push(second);
    expect(await second.exited).toBe(1);
    for (const port of Object.values(ports)) expect(second.output()).toContain(`${port} (`);
    expect(second.output()).toContain("already in use");
    expect(second.output()).not.toContain("build  │");

    expect(dev.output().match(/ready in/g)).toHaveLength(1);
    for (const name of ["build  │", "issuer │", "api    │", "web    │"]) {
      expect(dev.output()).toContain(name);
    }

    const pid = dev.child.pid ?? 0;
    const tree = descendants(pid);
    for (const proc of tree) groups.add(proc.pgid);
    expect(tree.length).toBeGreaterThanOrEqual(6);
    process.kill(-pid, "SIGINT");
    await dev.exited;

    await vi.waitFor(
      () => {
        expect(tree.filter((p) => alive(p.pid))).toEqual([]);
        expect([...new Set(tree.map((p) => p.pgid))].filter(groupAlive)).toEqual([]);
      },
      { timeout: 15_000, interval: 100 },
    );
    for (const port of Object.values(ports)) expect(await portFree(port)).toBe(true);
    expect(dev.output()).toContain("stopping web, api, issuer");
  });

  it("rejects a port that is not a number before starting anything", async () => {
    const dev = pnpmDev({ WEB_PORT: "3k" });
    started.push(dev);
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toContain('WEB_PORT must be a port number between 1 and 65535 (got "3k")');
    expect(dev.output()).not.toContain("build  │");
  });

  describe("stops on SIGTERM whatever became of its output", () => {
    // SIGTERM to the runner alone, as a supervisor sends it; its graceful stop takes at most 7 s
    // and its exit deadline is 9 s: the rest is for a loaded machine.
    const DEADLINE_MS = 15_000;

    async function stopsCleanly(dev: Run, ports: Record<string, number>) {
      const pid = dev.child.pid ?? 0;
      await vi.waitFor(
        async () => {
          // An exit ends the wait at once; it is asserted below.
          if (dev.child.exitCode !== null) return;
          expect((await fetch(`http://127.0.0.1:${ports.api}/healthz`)).status).toBe(200);
        },
        { timeout: 200_000, interval: 200 },
      );
      expect(dev.child.exitCode, `dev.mjs exited before SIGTERM:\n${dev.output()}`).toBeNull();
      const tree = descendants(pid);
      for (const proc of tree) groups.add(proc.pgid);
      expect(tree.length).toBeGreaterThanOrEqual(4);
      process.kill(pid, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<"still running">((done) => {
        timer = setTimeout(done, DEADLINE_MS, "still running");
      });
      expect(await Promise.race([dev.exited, deadline])).toBe(0);
      clearTimeout(timer);
      expect(tree.filter((p) => alive(p.pid))).toEqual([]);
      for (const port of Object.values(ports)) expect(await portFree(port)).toBe(true);
    }

    const startPorts = async () => {
      const ports = { issuer: await freePort(), api: await freePort(), web: await freePort() };
      apiPorts.push(ports.api);
      return ports;
    };
    const envOf = (ports: Record<string, number>) => ({
      ISSUER_PORT: String(ports.issuer),
      API_PORT: String(ports.api),
      WEB_PORT: String(ports.web),
    });

    it("after its output reader went away (EPIPE)", async () => {
      const ports = await startPorts();
      const dev = devScript(envOf(ports), "pipe");
      started.push(dev);
      await vi.waitFor(() => expect(dev.output()).toContain("issuer ready at"), {
        timeout: 200_000,
        interval: 100,
      });
      dev.child.stdout?.destroy();
      await stopsCleanly(dev, ports);
    });

    it("while nobody reads its full output pipe", async () => {
      const pipe = await createFullPipe();
      try {
        const ports = await startPorts();
        const dev = devScript(envOf(ports), pipe.fd);
        started.push(dev);
        await stopsCleanly(dev, ports);
      } finally {
        await pipe.close();
      }
    });
  });
});
