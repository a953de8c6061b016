import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

export const screenshotDir = fileURLToPath(new URL("../../test-results/", import.meta.url));

/** Debian's Chromium with the flags this machine needs, in a throwaway profile. */
export async function launchBrowser(): Promise<{
  newPage(): Promise<Page>;
  close(): Promise<void>;
}> {
  const profile = mkdtempSync(join(tmpdir(), "web-e2e-chromium-"));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 1200, height: 900 },
  });
  // Fail an assertion on a missing element in seconds, not after Playwright's default 30 s.
  context.setDefaultTimeout(10_000);
  mkdirSync(screenshotDir, { recursive: true });
  return {
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/**
 * Reloads until the whoami card is back. The token client answers a failure again for a short hold
 * (so a fleet honours one Retry-After), so the first reload after a recovery may still explain it.
 */
export async function reloadUntilRecovered(page: Page, clientId: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        return page.getByTestId("client-id").count();
      },
      { timeout: 15_000, interval: 250 },
    )
    .toBe(1);
  expect(await page.getByTestId("client-id").textContent()).toBe(clientId);
}
