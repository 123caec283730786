/**
 * Debian's Chromium (installed by scripts/test.sh through ensure-deps.sh), driven by
 * playwright-core, with the flags this closed network needs (no background requests).
 */
import { chromium, type Browser } from "playwright-core";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Headless Chromium for the whole test file: launched before its tests, closed after them, handed to `set`. */
export function useBrowser(set: (browser: Browser) => void): void {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
    set(browser);
  });
  afterAll(async () => {
    await browser?.close();
  });
}
