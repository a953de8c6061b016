import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientCredentialsClient,
  createAuthorizedFetch,
  createClientCredentialsClient,
  createFetchEventSource,
  readEventStream,
} from "@repo/auth";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink } from "@trpc/client";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { AppRouter } from "../src/index.js";
import type { ApiServer } from "../src/server.js";
import { callTrpc, startTestApi } from "./fixtures/test-api.js";

// The package's SSE client against the real stack: tokens live 3 s, so a subscription crosses
// several expiries; each ends the stream, the client reconnects with the token client's next
// token and Last-Event-ID, and the changes written meanwhile arrive once each, in order.
const AUDIENCE = "https://api.example.local";
let keysDir: string;
let issuer: RunningIssuer;
let api: ApiServer;
let tokens: ClientCredentialsClient;

beforeAll(async () => {
  keysDir = await mkdtemp(join(tmpdir(), "api-resume-keys-"));
  const devTenant = JSON.parse(
    await readFile(new URL("../../issuer/tenant.dev.json", import.meta.url), "utf8"),
  ) as { apis: { tokenLifetime: number }[] } & Record<string, unknown>;
  const { $comment: _comment, ...tenant } = devTenant;
  for (const entry of tenant.apis) entry.tokenLifetime = 3;
  issuer = await startIssuer({ port: 0, keysDir, quiet: true, tenant: tenant as never });
  ({ api } = await startTestApi({ ISSUER_BASE_URL: issuer.issuer }));
  tokens = createClientCredentialsClient({
    issuerBaseURL: issuer.issuer,
    clientId: "dev-reader",
    clientSecret: "dev-reader-secret",
    audience: AUDIENCE,
  });
});

afterAll(async () => {
  await tokens?.close();
  await api?.close();
  await issuer?.close();
  await rm(keysDir, { recursive: true, force: true });
});

it("resumes a subscription across token expiries without losing or repeating a change", async () => {
  const { access_token } = await issuer.requestToken({
    clientId: "dev-writer",
    audience: AUDIENCE,
  });
  const writer = `Bearer ${access_token}`;
  const controller = new AbortController();
  const received: string[] = [];
  const ends: string[] = [];
  let writing = true;
  const created: string[] = [];

  const write = async () => {
    for (let i = 0; writing; i++) {
      const answer = await callTrpc(api, "items.create", {
        authorization: writer,
        method: "POST",
        input: { name: `item ${i}` },
      });
      expect(answer.status).toBe(200);
      created.push((answer.body as { result: { data: { id: string } } }).result.data.id);
    }
  };

  let writer$: Promise<void> | undefined;
  for await (const event of readEventStream({
    url: `${api.trpcUrl}/items.onChange`,
    fetch: createAuthorizedFetch(tokens),
    reconnectDelay: 20,
    signal: controller.signal,
  })) {
    if (event.event === "connected") writer$ ??= write();
    if (event.event !== "message") continue;
    const data = JSON.parse(event.data) as { type: string; item?: { id: string } };
    if (data.item !== undefined) received.push(data.item.id);
    else ends.push(data.type);
    if (ends.length === 2 && writing) {
      writing = false;
      await writer$;
    }
    if (!writing && received.length === created.length) controller.abort();
  }

  expect(ends).toEqual(["token_expired", "token_expired"]);
  expect(created.length).toBeGreaterThan(0);
  expect(received).toEqual(created);
});

it("serves tRPC's httpSubscriptionLink through a fetch EventSource: fresh token per connect, resumable", async () => {
  const authorizedFetch = createAuthorizedFetch(tokens);
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({
          url: api.trpcUrl,
          EventSource: createFetchEventSource(authorizedFetch, { reconnectDelay: 20 }),
        }),
        false: httpLink({ url: api.trpcUrl, fetch: authorizedFetch }),
      }),
    ],
  });
  const { access_token } = await issuer.requestToken({
    clientId: "dev-writer",
    audience: AUDIENCE,
  });
  const writer = `Bearer ${access_token}`;
  const create = async (name: string) => {
    const answer = await callTrpc(api, "items.create", {
      authorization: writer,
      method: "POST",
      input: { name },
    });
    return (answer.body as { result: { data: { id: string } } }).result.data.id;
  };

  /** One subscription until the server ends it; the ids it received, and its last event. */
  const follow = (lastEventId: string | undefined, onStart: () => void) =>
    new Promise<{ ids: string[]; eventIds: string[]; end: string }>((resolve, reject) => {
      const ids: string[] = [];
      const eventIds: string[] = [];
      let end = "";
      const subscription = trpc.items.onChange.subscribe(
        { lastEventId },
        {
          onStarted: onStart,
          onData(event) {
            if ("id" in event) {
              eventIds.push(event.id);
              ids.push(event.data.type === "deleted" ? event.data.id : event.data.item.id);
            } else end = event.type;
          },
          onComplete: () => resolve({ ids, eventIds, end }),
          onError(error) {
            subscription.unsubscribe();
            reject(error);
          },
        },
      );
    });

  const created: string[] = [];
  const first = await follow(undefined, () => {
    void create("via the link").then((id) => created.push(id));
  });
  expect(first.end).toBe("token_expired");
  expect(first.ids).toEqual(created);
  // Written while no subscription is open: the next one gets it by resuming after the last id.
  created.push(await create("between subscriptions"));
  const second = await follow(first.eventIds.at(-1), () => {});
  expect(second.end).toBe("token_expired");
  expect([...first.ids, ...second.ids]).toEqual(created);
});
