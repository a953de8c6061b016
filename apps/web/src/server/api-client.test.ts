import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { createApiClient } from "./api-client";

// A stand-in for the API that records the request id of every HTTP request and answers each
// procedure of a batch with its own name.
const seen: { path: string; requestId: string | undefined; key?: string }[] = [];
const server = createServer((req: IncomingMessage, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const key = req.headers["idempotency-key"] as string | undefined;
  seen.push({
    path: url.pathname,
    requestId: req.headers["x-request-id"] as string | undefined,
    ...(key === undefined ? {} : { key }),
  });
  const procedures = url.pathname.replace("/trpc/", "").split(",");
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(procedures.map((name) => ({ result: { data: { name } } }))));
});
let url: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

it("sends the request id on every HTTP request, batched calls included", async () => {
  const api = createApiClient({ url, fetch, requestId: () => "page-request-1" });
  await Promise.all([api.whoami.query(), api.items.list.query()]);
  await api.health.query();
  expect(seen).toEqual([
    { path: "/trpc/whoami,items.list", requestId: "page-request-1" },
    { path: "/trpc/health", requestId: "page-request-1" },
  ]);
});

it("keeps the ids of two requests served at once apart", async () => {
  const first = createApiClient({ url, fetch, requestId: async () => "first" });
  const second = createApiClient({ url, fetch, requestId: async () => "second" });
  await Promise.all([first.whoami.query(), second.whoami.query(), first.health.query()]);
  expect(seen.filter((request) => request.requestId === "first")).toHaveLength(1);
  expect(seen.filter((request) => request.requestId === "second")).toHaveLength(1);
  expect(seen.find((request) => request.requestId === "first")?.path).toBe("/trpc/whoami,health");
});

it("sends a call's idempotency key as Idempotency-Key, and only on that call's request", async () => {
  const api = createApiClient({ url, fetch, requestId: () => "action-1" });
  await api.items.create.mutate({ name: "pen" }, { context: { idempotencyKey: "submit-1" } });
  await api.items.create.mutate({ name: "pen" });
  expect(seen).toEqual([
    { path: "/trpc/items.create", requestId: "action-1", key: "submit-1" },
    { path: "/trpc/items.create", requestId: "action-1" },
  ]);
});
