import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";

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
