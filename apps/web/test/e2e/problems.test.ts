import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApiServer } from "@repo/api";
import { devTenantPath, type RunningIssuer, startIssuer } from "@repo/issuer";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, reloadUntilRecovered, screenshot } from "./browser";
import { assertProductionBuild, type NextServer, startNextServer } from "./next-server";
import { audience, startTestApi } from "./servers";
import { type SwitchableProxy, startSwitchableProxy } from "./switchable-proxy";

// The outages of the other pages `/` can show, against real servers: an issuer that refuses this
// app's credentials, and an API that is up but cannot fetch its verification keys. One web server
// serves both, so the file costs a single `next start`.

const clientId = "dev-writer";
// What the web server sends, and what the issuer expects until the test fixes its tenant.
const webSecret = `web-secret-${randomUUID()}`;
const issuerSecret = `issuer-secret-${randomUUID()}`;

let workDir: string;
let tenantFile: string;
let issuer: RunningIssuer;
let jwksProxy: SwitchableProxy;
let api: ApiServer;
let web: NextServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;

/**
 * The development tenant with `dev-writer`'s secret set to `secret`. Written aside and renamed, so
 * the issuer (which re-reads the file when it changes) never sees half a file.
 */
function writeTenant(secret: string): void {
  const tenant = JSON.parse(readFileSync(devTenantPath, "utf8"));
  for (const client of tenant.clients)
    if (client.clientId === clientId) client.clientSecret = secret;
  const draft = `${tenantFile}.draft`;
  writeFileSync(draft, JSON.stringify(tenant));
  renameSync(draft, tenantFile);
}

/**
 * An API that fetches the issuer's keys through the proxy. No cooldown: a request while it has no
 * keys makes it try again at once, so the page recovers on the first reload after the fix.
 */
function startApi(port = 0): Promise<ApiServer> {
  const jwksUri = `${jwksProxy.url}${new URL(issuer.jwksUri).pathname}`;
  return startTestApi({ ISSUER: issuer.issuer, JWKS_URI: jwksUri, JWKS_COOLDOWN: "0" }, port);
}

/**
 * Loads `path` in `page` and returns the HTML the server sent, which must come with a 200: Next's
 * error page comes with a 500.
 */
async function visit(page: Page, path: string): Promise<string> {
  const response = await page.goto(`${web.url}${path}`);
  expect(response?.status()).toBe(200);
  return (await response?.text()) ?? "";
}

function expectNoSecrets(text: string): void {
  expect(text).not.toContain(webSecret);
  expect(text).not.toContain(issuerSecret);
}

/**
 * Loads `path` and reads its problem panel (failing within seconds when there is none). What the
 * server sent must be an explanation: no stack trace, and neither secret.
 */
async function problemOn(page: Page, path: string): Promise<{ kind: string | null; text: string }> {
  const html = await visit(page, path);
  expect(html).not.toMatch(/at \S+ \(/);
  expectNoSecrets(html);
  const panel = page.getByTestId("problem");
  return { kind: await panel.getAttribute("data-kind"), text: (await panel.textContent()) ?? "" };
}

beforeAll(async () => {
  assertProductionBuild();
  workDir = mkdtempSync(join(tmpdir(), "web-e2e-problems-"));
  tenantFile = join(workDir, "tenant.json");
  writeTenant(issuerSecret);
  issuer = await startIssuer({ port: 0, keysDir: workDir, tenantFile, quiet: true });
  jwksProxy = await startSwitchableProxy(issuer.issuer);
  api = await startApi();
  const starting = await Promise.allSettled([
    startNextServer({
      API_URL: api.trpcUrl,
      ISSUER_BASE_URL: issuer.issuer,
      CLIENT_ID: clientId,
      CLIENT_SECRET: webSecret,
      AUDIENCE: audience,
    }).then((server) => {
      web = server;
    }),
    launchBrowser().then((launched) => {
      browser = launched;
    }),
  ]);
  for (const result of starting) if (result.status === "rejected") throw result.reason;
});

afterAll(async () => {
  await Promise.allSettled([browser?.close(), web?.close()]);
  await Promise.allSettled([api?.close(), jwksProxy?.close(), issuer?.close()]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("outage pages", () => {
  // First in the file: the web server must not hold a token yet, or it would not ask the issuer.
  it("with credentials the issuer refuses, / and /status explain what to check without the secret, and / recovers", async () => {
    const page = await browser.newPage();
    const { kind, text } = await problemOn(page, "/");
    expect(kind).toBe("issuer-rejected");
    expect(text).toContain("The authorization server refused to issue a token");
    expect(text).toContain("invalid_client");
    expect(text).toContain(`CLIENT_ID (${clientId})`);
    expect(text).toContain("CLIENT_SECRET");
    expectNoSecrets(await page.content());
    await screenshot(page, "home-issuer-rejected");

    // The status page still renders its dashboard: the token card explains, the API's health shows.
    const statusHtml = await visit(page, "/status");
    const tokenCard = page.getByTestId("token-card");
    expect(await tokenCard.textContent()).toContain(
      "The authorization server refused to issue a token",
    );
    expect(await tokenCard.textContent()).toContain("unavailable");
    expect(await page.getByTestId("jwks-state").textContent()).toBe("fresh");
    expectNoSecrets(statusHtml);
    await screenshot(page, "status-issuer-rejected");

    const output = web.output();
    expect(output).toContain('"kind":"issuer-rejected"');
    expectNoSecrets(output);

    // The issuer now holds the secret the web server sends: a reload is enough, no restart.
    writeTenant(webSecret);
    await visit(page, "/");
    await reloadUntilRecovered(page, clientId);
    await page.close();
  });

  it("with the API's JWKS endpoint failing, / explains that the API cannot verify tokens, and recovers", async () => {
    // Starts from a working page (the issuer accepts the web server's secret), then takes the
    // API's key endpoint down. A fresh API behind it has no keys at all.
    writeTenant(webSecret);
    const page = await browser.newPage();
    await visit(page, "/");
    await reloadUntilRecovered(page, clientId);
    jwksProxy.fail();
    const { port } = api;
    await api.close();
    api = await startApi(port);

    // The API answers a valid token with 503 and Retry-After: what the page has to explain.
    const { access_token } = await issuer.requestToken({ clientId, audience });
    const answer = await fetch(`${api.trpcUrl}/whoami`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);

    const { kind, text } = await problemOn(page, "/");
    expect(kind).toBe("api-keys-unavailable");
    expect(text).toContain("The API cannot verify tokens right now");
    expect(text).toContain("JWKS_URI");
    await screenshot(page, "home-api-keys-unavailable");

    await visit(page, "/status");
    expect(await page.getByTestId("jwks-state").textContent()).toBe("down");
    expect(await page.getByTestId("token-card").textContent()).toContain("cached");
    await screenshot(page, "status-api-keys-unavailable");

    jwksProxy.pass();
    await visit(page, "/");
    await reloadUntilRecovered(page, clientId);
    await page.close();
    expectNoSecrets(web.output());
  });
});
