import { spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";
import { expect, it } from "vitest";

const filter = resolve(import.meta.dirname, "pretty-logs.mjs");

function startFilter() {
  const { FORCE_COLOR, ...env } = process.env;
  const child = spawn(process.execPath, [filter], {
    env: { ...env, NO_COLOR: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  const exited = once(child, "exit");
  return { child, exited, output: () => stdout };
}

it("prints an app's JSON log lines as `pnpm dev` does and passes other lines through", async () => {
  const { child, exited, output } = startFilter();
  child.stdin.end(
    [
      '{"level":30,"time":1,"pid":2,"hostname":"h","service":"api","url":"http://127.0.0.1:4000","msg":"listening"}',
      '{"level":40,"service":"api","attempt":2,"reason":{"code":"ECONNREFUSED"},"msg":"jwks fetch failed"}',
      '{"msg":"page data failed","kind":"api-down"}',
      "[tsx] restarting",
      "{ not json",
    ].join("\n"),
  );
  const [code] = await exited;
  expect(code).toBe(0);
  expect(output()).toBe(
    [
      "info listening service=api url=http://127.0.0.1:4000",
      'warn jwks fetch failed service=api attempt=2 reason={"code":"ECONNREFUSED"}',
      "page data failed kind=api-down",
      "[tsx] restarting",
      "{ not json",
      "",
    ].join("\n"),
  );
});

it("keeps printing after Ctrl-C or SIGTERM until the app closes its output", async () => {
  const { child, exited, output } = startFilter();
  child.stdin.write('{"level":30,"msg":"listening"}\n');
  await expect.poll(output).toBe("info listening\n");

  child.kill("SIGTERM");
  child.stdin.end('{"level":30,"signal":"SIGTERM","msg":"stopped"}\n');
  const [code] = await exited;
  expect(code).toBe(0);
  expect(output()).toBe("info listening\ninfo stopped signal=SIGTERM\n");
});
