import { randomUUID } from "node:crypto";
import { type PrivatePostgres, startPrivatePostgres, waitFor } from "@repo/test-utils";
import { describe, expect, it } from "vitest";
import type { ApiApp } from "../harness/api-app.js";
import { createHttpClient, trpcCall } from "../harness/http-client.js";
import { outcomesBetween, startLoad } from "../harness/load.js";
import { startSystem } from "../harness/system.js";
import { useTeardown } from "../harness/teardown.js";

const defer = useTeardown();

interface Item {
  id: string;
  name: string;
}

// Three API instances on one real Postgres, as behind a load balancer.
describe("three API instances on one Postgres", () => {
  it("share one list, write once per idempotency key, lose no half-written change and ride out a database restart", async () => {
    const postgres: PrivatePostgres = await startPrivatePostgres();
    defer(() => postgres.destroy());
    const databaseUrl = postgres.createDatabase("items");
    const system = await startSystem(defer, { tokenLifetime: 600, databaseUrl });
    const apis: ApiApp[] = [system.api, await system.startApi(), await system.startApi()];
    const authorization = `Bearer ${await system.tokenClient().client.getToken()}`;
    const http = createHttpClient(32);
    defer(() => http.close());

    const create = async (api: ApiApp, name: string, key?: string) => {
      const call = trpcCall(api.url, "items.create", "mutation", { name });
      return http.send({
        ...call,
        headers: {
          ...call.headers,
          authorization,
          ...(key === undefined ? {} : { "idempotency-key": key }),
        },
      });
    };
    const list = async (api: ApiApp) => {
      const call = trpcCall(api.url, "items.list", "query", { limit: 100 });
      const answer = await http.send({ ...call, headers: { authorization } });
      return { status: answer.status, items: answer.status === 200 ? itemsOf(answer.body) : [] };
    };
    const sql = (query: string) => postgres.psql(query, "items").trim();

    // One list: what any instance wrote, every instance lists.
    for (const [index, api] of apis.entries()) {
      expect((await create(api, `from instance ${index}`)).status).toBe(200);
    }
    const lists = await Promise.all(apis.map(list));
    expect(lists.map((answer) => answer.items.map((item) => item.name))).toEqual(
      apis.map(() => ["from instance 0", "from instance 1", "from instance 2"]),
    );

    // 100 concurrent duplicates spread over the instances: one row, one answer.
    const key = randomUUID();
    const duplicates = await Promise.all(
      Array.from({ length: 100 }, (_, index) => create(apis[index % 3] as ApiApp, "once", key)),
    );
    expect(new Set(duplicates.map((answer) => answer.status))).toEqual(new Set([200]));
    expect(new Set(duplicates.map((answer) => itemOf(answer.body).id)).size).toBe(1);
    expect(sql("select count(*) from items where name = 'once'")).toBe("1");

    // kill -9 an instance in the middle of writes: every change is whole (item, key and audit
    // event commit together) or absent.
    const victim = apis[2] as ApiApp;
    const writes = startLoad(
      async () => String((await create(victim, "under kill", randomUUID())).status),
      { concurrency: 8 },
    );
    await waitFor(() => writes.records.filter((r) => r.outcome === "200").length >= 20, {
      timeout: 30_000,
      message: "writes before the kill",
    });
    await victim.stop("SIGKILL");
    await writes.stop();
    expect(
      sql(`select count(*) from items i where not exists
             (select 1 from audit_events a where a.item_id = i.id and a.outcome = 'ok')`),
    ).toBe("0");
    expect(sql("select count(*) from idempotency_keys where response is null")).toBe("0");
    const survivors = apis.slice(0, 2);
    const [first, second] = await Promise.all(survivors.map(list));
    expect(first?.items).toEqual(second?.items);

    // Postgres restarts under load: the instances answer 503 meanwhile, never a 500, then recover.
    const load = startLoad(
      async () => {
        const api = survivors[Math.floor(Math.random() * survivors.length)] as ApiApp;
        const answer =
          Math.random() < 0.5 ? await list(api) : await create(api, "during restart", randomUUID());
        return String(answer.status);
      },
      { concurrency: 6, pauseMs: 5 },
    );
    await waitFor(() => load.records.length >= 30, { timeout: 30_000, message: "warm load" });
    const stoppedAt = Date.now();
    postgres.stop("immediate");
    await waitFor(() => outcomesBetween(load.records, stoppedAt)["503"] !== undefined, {
      timeout: 30_000,
      message: "503s while Postgres is down",
    });
    const restartedAt = Date.now();
    postgres.start();
    await waitFor(
      () =>
        load.records.filter((r) => r.startedAt > restartedAt && r.outcome === "200").length >= 20,
      { timeout: 30_000, message: "recovery after the restart" },
    );
    const summary = await load.stop();
    expect(Object.keys(summary.outcomes).sort()).toEqual(["200", "503"]);
    for (const api of survivors) {
      expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    }
  });
});

function itemOf(body: string): Item {
  return (JSON.parse(body) as { result: { data: Item } }).result.data;
}

function itemsOf(body: string): Item[] {
  return (JSON.parse(body) as { result: { data: { items: Item[] } } }).result.data.items;
}
