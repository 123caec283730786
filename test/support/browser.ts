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
