import { lazy } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { appRouter } from "./routers/app-router.js";
import { protectedProcedure, publicProcedure, requireScopes, router } from "./trpc.js";
import { createTrpcRequestPlanner } from "./trpc-request-plan.js";

const plan = createTrpcRequestPlanner(appRouter, 4);
const JSON_BODY = { "content-type": "application/json" };

describe("createTrpcRequestPlanner", () => {
  it("reads each procedure's requirement from the meta protectedProcedure, requireScopes and requireDpop set", () => {
    const { calls } = createTrpcRequestPlanner(appRouter, 5)(
      "GET",
      "health,whoami,binding,items.list,items.create",
      "batch=1",
      {},
    );
    expect(calls).toEqual([
      { name: "health", type: "query", auth: false, scopes: [], dpop: false },
      { name: "whoami", type: "query", auth: true, scopes: [], dpop: false },
      { name: "binding", type: "query", auth: true, scopes: [], dpop: true },
      { name: "items.list", type: "query", auth: true, scopes: ["read:items"], dpop: false },
      { name: "items.create", type: "mutation", auth: true, scopes: ["write:items"], dpop: false },
    ]);
  });

  it("keeps the requirement through later .meta() calls, which tRPC merges shallowly", () => {
    const routes = router({
      later: protectedProcedure.meta({ scopes: ["read:items"] }).query(() => 1),
      scoped: requireScopes("write:items")
        .meta({ auth: true })
        .query(() => 1),
      open: publicProcedure.query(() => 1),
    });
    const { calls } = createTrpcRequestPlanner(routes, 10)(
      "GET",
      "later,scoped,open",
      "batch=1",
      {},
    );
    expect(calls.map(({ auth, scopes }) => ({ auth, scopes }))).toEqual([
      { auth: true, scopes: ["read:items"] },
      { auth: true, scopes: ["write:items"] },
      { auth: false, scopes: [] },
    ]);
  });

  it("reads names as tRPC does: percent-decoded, split only for a batch, unknown ones left out", () => {
    const names = (path: string, search: string) =>
      plan("GET", path, search, {}).calls.map((call) => call.name);
    expect(names("%77hoami", "")).toEqual(["whoami"]);
    expect(names("health%2Cwhoami", "batch=1")).toEqual(["health", "whoami"]);
    expect(names("health,whoami", "")).toEqual([]);
    expect(names("health,whoami", "%62atch=1")).toEqual(["health", "whoami"]);
    expect(names("whoami,nope,__proto__,constructor", "batch=1")).toEqual(["whoami"]);
    expect(names("%E0%A4%A", "")).toEqual([]);
    // An oversized batch is refused whole by tRPC before any call runs.
    expect(names("whoami,whoami,whoami,whoami,whoami", "batch=1")).toEqual([]);
  });

  it("leaves per-call statuses to tRPC only for plain, non-streaming calls and batches", () => {
    const perCall = (method: string, path: string, search: string, headers = {}) =>
      plan(method, path, search, headers).perCall;
    expect(perCall("GET", "health,whoami", "batch=1")).toBe(true);
    expect(perCall("GET", "whoami,nope", "batch=1")).toBe(true);
    expect(perCall("POST", "items.create", "", JSON_BODY)).toBe(true);
    expect(perCall("GET", "health,whoami", "batch=1", { "trpc-accept": "application/jsonl" })).toBe(
      false,
    );
    expect(perCall("GET", "health,whoami", "batch=1", { accept: "application/jsonl" })).toBe(false);
    expect(perCall("HEAD", "whoami", "")).toBe(false);
    expect(perCall("POST", "items.create", "", { "content-type": "text/plain" })).toBe(false);
    expect(perCall("GET", "whoami,items.create", "batch=1")).toBe(false);
    expect(perCall("POST", "whoami", "", JSON_BODY)).toBe(false);
  });

  it("decides an SSE subscription's status before its stream opens", () => {
    const routes = router({
      events: protectedProcedure.subscription(async function* () {
        yield 1;
      }),
    });
    const planned = createTrpcRequestPlanner(routes, 10)("GET", "events", "", {});
    expect(planned).toMatchObject({ perCall: false, refusal: undefined });
  });

  it("refuses methods the procedures do not take with their Allow, and GET bodies", () => {
    const refusal = (method: string, path: string, headers = {}) => {
      const found = plan(method, path, "", headers).refusal;
      return found && { code: found.error.code, allow: found.allow };
    };
    expect(refusal("PUT", "whoami")).toEqual({ code: "METHOD_NOT_SUPPORTED", allow: "GET, HEAD" });
    expect(refusal("POST", "whoami", JSON_BODY)).toEqual({
      code: "METHOD_NOT_SUPPORTED",
      allow: "GET, HEAD",
    });
    expect(refusal("GET", "items.create")).toEqual({ code: "METHOD_NOT_SUPPORTED", allow: "POST" });
    expect(refusal("OPTIONS", "nope")).toEqual({
      code: "METHOD_NOT_SUPPORTED",
      allow: "GET, HEAD, POST",
    });
    expect(refusal("GET", "whoami", { "content-type": "multipart/form-data; boundary=x" })).toEqual(
      { code: "UNSUPPORTED_MEDIA_TYPE", allow: undefined },
    );
    expect(refusal("GET", "whoami")).toBeUndefined();
    expect(refusal("HEAD", "health")).toBeUndefined();
  });

  it("refuses lazy routers, whose procedures it could not know before tRPC loads them", () => {
    const routes = router({
      later: lazy(async () => router({ one: publicProcedure.query(() => 1) })),
    });
    expect(() => createTrpcRequestPlanner(routes, 10)).toThrow(/lazy routers/);
  });
});
