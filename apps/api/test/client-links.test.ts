import {
  createTRPCClient,
  httpBatchLink,
  httpBatchStreamLink,
  httpLink,
  TRPCClientError,
} from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppRouter } from "../src/index.js";
import { NO_CREDENTIALS_CHALLENGE } from "./fixtures/challenges.js";
import { type SignedApi, startSignedApi } from "./fixtures/signed-api.js";

// The three HTTP links of @trpc/client against a real server: whichever a caller uses, an auth
// failure reaches it as the HTTP status and challenge of RFC 6750, not only inside the body.
let stack: SignedApi;

beforeAll(async () => {
  stack = await startSignedApi();
});
afterAll(() => stack?.close());

const LINKS = { httpLink, httpBatchLink, httpBatchStreamLink } as const;

const clientWith = (link: keyof typeof LINKS, scope?: string) =>
  createTRPCClient<AppRouter>({
    links: [
      LINKS[link]({
        url: stack.api.trpcUrl,
        headers: async () =>
          scope === undefined ? {} : { authorization: await stack.bearer({ scope }) },
      }),
    ],
  });

/** The client error a call failed with, and the HTTP response it came in. */
async function failure(call: Promise<unknown>) {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const clientError = error as TRPCClientError<AppRouter>;
  const response = clientError.meta?.response as Response | undefined;
  return { error: clientError, status: response?.status, headers: response?.headers };
}

describe.each(Object.keys(LINKS) as (keyof typeof LINKS)[])("%s", (link) => {
  it("gets 401 with the challenge when no token is sent", async () => {
    const client = clientWith(link);
    const [whoami, list] = await Promise.all([
      failure(client.whoami.query()),
      failure(client.items.list.query()),
    ]);
    for (const { error, status, headers } of [whoami, list]) {
      expect(status).toBe(401);
      expect(headers?.get("www-authenticate")).toBe(NO_CREDENTIALS_CHALLENGE);
      expect(error.data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401 });
      expect(error.data?.auth?.code).toBe("ERR_AUTH_MISSING_TOKEN");
    }
  });

  it("gets 403 insufficient_scope for a mutation the token may not call", async () => {
    const { error, status, headers } = await failure(
      clientWith(link, "read:items").items.create.mutate({ name: "refused" }),
    );
    expect(status).toBe(403);
    expect(headers?.get("www-authenticate")).toBe(
      'Bearer realm="api", error="insufficient_scope", scope="write:items"',
    );
    expect(error.data?.auth?.missingScopes).toEqual(["write:items"]);
  });

  it("calls queries and mutations with a token that may", async () => {
    const client = clientWith(link, "read:items write:items");
    const [me, item] = await Promise.all([
      client.whoami.query(),
      client.items.create.mutate({ name: `via ${link}` }),
    ]);
    expect(me.sub).toBe("test-client@clients");
    expect(item.name).toBe(`via ${link}`);
    expect((await client.items.list.query()).items).toContainEqual(item);
  });
});
