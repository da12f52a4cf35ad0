/**
 * A real headless Chromium for page tests: Debian's `chromium` package
 * driven by puppeteer-core (no browser download). A missing browser fails
 * the test with the package to install, never a skip.
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import puppeteer, { type Browser } from "puppeteer-core";
import { ROOT } from "./cli.ts";

/** The browser binary (Debian's `chromium`; PFLOW_CHROMIUM overrides). */
export const CHROMIUM = process.env.PFLOW_CHROMIUM ?? "/usr/bin/chromium";

/** Where tests leave screenshots and other artifacts (PFLOW_TEST_ARTIFACTS overrides). */
export const ARTIFACTS = resolve(process.env.PFLOW_TEST_ARTIFACTS ?? join(ROOT, "dist", "test-artifacts"));

/**
 * The flags of a browser that makes no connection of its own: the closed
 * network here refuses them, and a test must see only the page's requests.
 */
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts Chromium with a fresh profile; close it with the returned function. */
export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed (${CHROMIUM} is missing): install Debian's package 'chromium' ` +
        `(apt-get install -y chromium; .ci/run does it) or set PFLOW_CHROMIUM to a Chromium binary`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "pflow-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // A loaded machine (2 cores shared by several developers) can take long to start it.
    timeout: 120_000,
    protocolTimeout: 120_000,
    args: [...FLAGS, `--user-data-dir=${profile}`],
  });
  const child = browser.process();
  return {
    browser,
    close: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        browser.close().catch(() => {}),
        new Promise((done) => timer = setTimeout(done, 15_000)),
      ]);
      clearTimeout(timer);
      // Never leave our browser behind, even when it did not answer the close.
      if (child !== null && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` with a fresh browser, closed afterwards. */
export async function withChromium<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
  const { browser, close } = await launchChromium();
  try {
    return await fn(browser);
  } finally {
    await close();
  }
}

/** The artifact path for `name` (the directory is created). */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
