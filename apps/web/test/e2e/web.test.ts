import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiServer } from "@repo/api";
import { type RunningIssuer, startIssuer } from "@repo/issuer";
import { Redis } from "ioredis";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, reloadUntilRecovered, screenshot } from "./browser";
import { assertProductionBuild, type NextServer, startNextServer } from "./next-server";
import { audience, startTestApi } from "./servers";

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redisPrefix = `web-e2e:${randomUUID()}:`;

let keysDir: string;
let issuer: RunningIssuer;
let api: ApiServer;
let writer: NextServer;
let reader: NextServer;
let misconfigured: NextServer;
let dpop: NextServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

function startApi(port = 0): Promise<ApiServer> {
  return startTestApi({ ISSUER_BASE_URL: issuer.issuer }, port);
}

function webEnv(clientId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    API_URL: api.trpcUrl,
    ISSUER_BASE_URL: issuer.issuer,
    CLIENT_ID: clientId,
    CLIENT_SECRET: `${clientId}-secret`,
    AUDIENCE: audience,
    ...extra,
  };
}

async function redisKeys(redis: Redis): Promise<string[]> {
  return redis.keys(`${redisPrefix}*`);
}

async function open(server: NextServer, path: string): Promise<Page> {
  const page = await browser.newPage();
  const response = await page.goto(`${server.url}${path}`);
  expect(response?.status()).toBe(200);
  return page;
}

beforeAll(async () => {
  assertProductionBuild();
  keysDir = mkdtempSync(join(tmpdir(), "web-e2e-keys-"));
  issuer = await startIssuer({ port: 0, keysDir, quiet: true });
  api = await startApi();
  // Each is assigned as soon as it is up, so afterAll stops it even when another fails to start.
  const starting = await Promise.allSettled([
    startNextServer(webEnv("dev-writer")).then((server) => {
      writer = server;
    }),
    // The reader keeps its tokens in Redis, the writer in memory: both stores run in the build.
    startNextServer(
      webEnv("dev-reader", { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: redisPrefix }),
    ).then((server) => {
      reader = server;
    }),
    // DPoP-bound tokens for the client the dev issuer binds.
    startNextServer(webEnv("dev-dpop", { DPOP: "on" })).then((server) => {
      dpop = server;
    }),
    // No credentials and a bad API_URL.
    startNextServer({ API_URL: "not-a-url", ISSUER_BASE_URL: issuer.issuer }).then((server) => {
      misconfigured = server;
    }),
    launchBrowser().then((launched) => {
      browser = launched;
    }),
  ]);
  for (const result of starting) if (result.status === "rejected") throw result.reason;
});

afterAll(async () => {
  await Promise.allSettled([
    browser?.close(),
    writer?.close(),
    reader?.close(),
    misconfigured?.close(),
    dpop?.close(),
  ]);
  await Promise.allSettled([api?.close(), issuer?.close()]);
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const keys = await redisKeys(redis);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
  if (keysDir) rmSync(keysDir, { recursive: true, force: true });
});

describe("as dev-writer", () => {
  it("with the issuer down before the first token, / explains what to check, and recovers", async () => {
    const { port } = issuer;
    await issuer.close();
    const page = await open(writer, "/");
    const problem = page.getByTestId("problem");
    expect(await problem.getAttribute("data-kind")).toBe("issuer-unreachable");
    expect(await problem.textContent()).toContain("The authorization server cannot be reached");
    expect(await problem.textContent()).toContain(issuer.issuer);
    await screenshot(page, "home-issuer-down");

    issuer = await startIssuer({ port, keysDir, quiet: true });
    await reloadUntilRecovered(page, "dev-writer");
    await page.close();
  });

  it("/ shows who the API sees, the scopes and the item list", async () => {
    const page = await open(writer, "/");
    const whoami = page.getByTestId("whoami");
    await expect.poll(() => whoami.getByTestId("client-id").textContent()).toBe("dev-writer");
    expect(await whoami.getByTestId("scopes").textContent()).toContain("write:items");
    // Live: the browser's clock takes over from the server-rendered value.
    const countdown = page.getByTestId("expiry-countdown");
    const first = await countdown.textContent();
    expect(first).toMatch(/^in (\d+h )?\d+m \d{2}s$/);
    await expect.poll(() => countdown.textContent(), { timeout: 3_000 }).not.toBe(first);
    expect(await page.getByText("No items yet").count()).toBe(1);
    expect(await page.getByTestId("permissions").textContent()).toContain("read:items");
    await screenshot(page, "home-writer");
    await page.close();
  });

  it("creating an item through the form shows it in the list", async () => {
    const page = await open(writer, "/");
    await page.getByLabel("New item").fill("Rotate signing keys");
    await page.getByRole("button", { name: "Create item" }).click();
    await expect
      .poll(() => page.getByTestId("create-result").textContent())
      .toBe("Created “Rotate signing keys”.");
    await expect
      .poll(() => page.getByTestId("item-list").textContent())
      .toContain("Rotate signing keys");
    await screenshot(page, "home-writer-created");

    await page.reload();
    expect(await page.getByTestId("item-list").textContent()).toContain("Rotate signing keys");
    await page.close();
  });

  it("the list shows an item another client creates, live, and /status counts the relay", async () => {
    const page = await open(writer, "/");
    await expect.poll(() => page.getByTestId("live-state").textContent()).toContain("live");
    // Another client writes straight to the API with its own token.
    const { access_token } = await issuer.requestToken({ clientId: "dev-writer" });
    const createElsewhere = async (name: string) => {
      const created = await fetch(`${api.trpcUrl}/items.create`, {
        method: "POST",
        headers: { authorization: `Bearer ${access_token}`, "content-type": "application/json" },
        body: JSON.stringify({ name }),
      });
      expect(created.status).toBe(200);
    };
    await createElsewhere("Written elsewhere");
    await expect
      .poll(() => page.getByTestId("item-list").textContent())
      .toContain("Written elsewhere");
    // The list keeps following: a second write shows too.
    await createElsewhere("Written elsewhere, later");
    await expect
      .poll(() => page.getByTestId("item-list").textContent())
      .toContain("Written elsewhere, later");
    await screenshot(page, "home-live-item");

    const status = await open(writer, "/status");
    expect(Number(await status.getByTestId("relay-open").textContent())).toBeGreaterThanOrEqual(1);
    await expect
      .poll(
        async () => {
          await status.reload();
          return Number(await status.getByTestId("relay-relayed").textContent());
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThanOrEqual(1);
    await status.close();
    await page.close();
  });

  it("a name the API rejects shows its 400 inline and keeps the draft", async () => {
    const page = await open(writer, "/");
    const tooLong = "x".repeat(101);
    await page.getByLabel("New item").fill(tooLong);
    await page.getByRole("button", { name: "Create item" }).click();
    await expect
      .poll(() => page.getByTestId("create-result").textContent())
      .toContain("1 to 100 characters");
    expect(await page.getByLabel("New item").inputValue()).toBe(tooLong);
    await page.close();
  });

  it("/status shows the cached token, the API's key store and a latency chart", async () => {
    const page = await open(writer, "/status");
    expect(await page.getByTestId("token-card").textContent()).toContain("cached");
    expect(await page.getByTestId("store-kind").textContent()).toBe("memory store");
    expect(Number(await page.getByTestId("token-requests").textContent())).toBeGreaterThanOrEqual(
      1,
    );
    expect(await page.getByTestId("jwks-state").textContent()).toBe("fresh");
    await page.getByText("Header fields and claims").click();
    const claims = JSON.parse((await page.getByTestId("token-claims").textContent()) ?? "{}");
    expect(claims.header).toEqual({
      alg: "RS256",
      typ: expect.any(String),
      kid: issuer.signingKid(),
    });
    expect(claims.claims.iss).toBe(issuer.issuer);
    expect([claims.claims.aud].flat()).toContain(audience);
    const chart = page.getByTestId("latency-chart");
    expect(await chart.isVisible()).toBe(true);
    expect(await chart.getByTestId("latency-bar").count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, "status-writer");
    await page.close();
  });

  it("nothing the browser receives carries the secret or a token, and it logs no error", async () => {
    const page = await browser.newPage();
    const bodies: Promise<string>[] = [];
    const browserErrors: string[] = [];
    page.on("pageerror", (error) => browserErrors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") browserErrors.push(message.text());
    });
    page.on("response", (response) => {
      bodies.push(
        response.body().then(
          (body) => body.toString("latin1"),
          () => "",
        ),
      );
    });
    const home = await page.goto(`${writer.url}/`);
    expect(home?.headers()).toMatchObject({
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    });
    await page.getByLabel("New item").fill("Audit the bundle");
    await page.getByRole("button", { name: "Create item" }).click();
    await expect.poll(() => page.getByTestId("create-result").textContent()).toContain("Audit");
    await page.goto(`${writer.url}/status`);
    await page.close();

    // Hydration mismatches and client exceptions end up here.
    expect(browserErrors).toEqual([]);
    const received = await Promise.all(bodies);
    expect(received.length).toBeGreaterThan(5);
    expect(received.join("\n")).toContain("dev-writer");
    for (const body of received) {
      expect(body).not.toContain("dev-writer-secret");
      // A JWT is base64url JSON header and payload: both start with `eyJ` (`{"`).
      expect(body).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}\./);
    }
  });

  it("with the API stopped, / explains what to check, and recovers on reload", async () => {
    const { port } = api;
    await api.close();
    const page = await open(writer, "/");
    const problem = page.getByTestId("problem");
    expect(await problem.getAttribute("data-kind")).toBe("api-unreachable");
    expect(await problem.textContent()).toContain("The API cannot be reached");
    expect(await problem.textContent()).toContain(api.trpcUrl);
    expect(await page.content()).not.toMatch(/at \S+ \(|ECONNREFUSED/);
    await screenshot(page, "home-api-down");

    api = await startApi(port);
    await reloadUntilRecovered(page, "dev-writer");
    await page.close();
  });
  it("replaces a cached token the API rejects after a key rotation, without the page noticing", async () => {
    const requestsOnStatus = async () => {
      const page = await open(writer, "/status");
      const count = Number(await page.getByTestId("token-requests").textContent());
      await page.getByText("Header fields and claims").click();
      const { header } = JSON.parse((await page.getByTestId("token-claims").textContent()) ?? "{}");
      await page.close();
      return { count, kid: header.kid as string };
    };
    const before = await requestsOnStatus();

    // The key that signed the cached token leaves the JWKS; a fresh API instance no longer knows it.
    await issuer.rotateKeys();
    await issuer.retirePreviousKeys();
    const { port } = api;
    await api.close();
    api = await startApi(port);

    const page = await open(writer, "/");
    expect(await page.getByTestId("client-id").textContent()).toBe("dev-writer");
    expect(await page.getByTestId("problem").count()).toBe(0);
    await page.close();

    const after = await requestsOnStatus();
    expect(after.count).toBe(before.count + 1);
    expect(after.kid).not.toBe(before.kid);
    expect(after.kid).toBe(issuer.signingKid());
  });
});

describe("misconfigured", () => {
  it("every page names the bad variables instead of failing", async () => {
    try {
      for (const path of ["/", "/status"]) {
        const page = await open(misconfigured, path);
        const problem = page.getByTestId("problem");
        expect(await problem.getAttribute("data-kind")).toBe("config");
        const text = await problem.textContent();
        expect(text).toContain("API_URL must be an http(s) URL");
        // next start runs in production, where nothing has a development default.
        expect(text).toContain("CLIENT_ID is required");
        expect(text).toContain("CLIENT_SECRET is required");
        expect(text).toContain("AUDIENCE is required");
        if (path === "/") await screenshot(page, "home-misconfigured");
        await page.close();
      }
      // The live relay says so with a status an EventSource does not retry, not a broken stream.
      const relay = await fetch(`${misconfigured.url}/api/items/stream`);
      expect(relay.status).toBe(503);
      expect(await relay.json()).toEqual({ error: "The live relay is not configured" });
    } finally {
      await misconfigured.close();
    }
  });
});

describe("as dev-reader", () => {
  it("the list loads but the form shows the API's 403 and the scope it needs", async () => {
    const page = await open(reader, "/");
    await expect.poll(() => page.getByTestId("client-id").textContent()).toBe("dev-reader");
    expect(await page.getByText("this app does not hold it").count()).toBe(1);
    await page.getByLabel("New item").fill("Not allowed");
    await page.getByRole("button", { name: "Create item" }).click();
    const result = page.getByTestId("create-result");
    await expect.poll(() => result.textContent()).toContain("403 insufficient_scope");
    expect(await result.textContent()).toContain("write:items");
    expect(await result.textContent()).toContain("read:items");
    await screenshot(page, "home-reader-forbidden");
    await page.close();
  });

  it("/status shows the Redis store, which holds the reader's token", async () => {
    const page = await open(reader, "/status");
    expect(await page.getByTestId("store-kind").textContent()).toBe("Redis store");
    expect(await page.getByTestId("token-card").textContent()).toContain("cached");
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      expect((await redisKeys(redis)).length).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
    await screenshot(page, "status-reader-redis");
    await page.close();
  });
});

describe("as dev-dpop with DPOP=on", () => {
  it("/ calls the API with bound tokens, and /status shows the binding and its proofs", async () => {
    const home = await open(dpop, "/");
    await expect.poll(() => home.getByTestId("client-id").textContent()).toBe("dev-dpop");
    await home.close();

    const page = await open(dpop, "/status");
    const jkt = await page.getByTestId("dpop-jkt").textContent();
    expect(jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The token request and the home page's API calls each carried a proof.
    expect(Number(await page.getByTestId("dpop-proofs").textContent())).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId("dpop-nonce-retries").textContent()).toBe("0");
    await screenshot(page, "status-dpop");
    await page.close();
  });

  it("/status says when tokens are plain bearer tokens", async () => {
    const page = await open(writer, "/status");
    expect(await page.getByTestId("dpop-binding").textContent()).toContain("DPOP=on");
    await page.close();
  });
});
