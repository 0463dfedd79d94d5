// Debian's Chromium, headless, through playwright-core (which never
// downloads a browser here: it is only given executablePath). mk/sdk.mk
// installs it (apt-get install -y chromium).
import { chromium } from "playwright-core";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Launches Chromium with a fresh profile (--user-data-dir in a temporary
 * directory, which playwright takes as launchPersistentContext's first
 * argument). Resolves {newContext(), close()}: newContext gives a context
 * with an empty cache; close stops the browser and removes the profile.
 */
export async function launchChromium() {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} is missing: install it with apt-get install -y chromium (make test-sdk does)`);
  }
  const dir = await mkdtemp(join(tmpdir(), "socketcore-chromium-"));
  let persistent;
  try {
    persistent = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30000 });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const browser = persistent.browser();
  return {
    version: browser.version(),
    newContext: () => browser.newContext(),
    close: async () => {
      await persistent.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
