/**
 * The gateway's pages (services/gateway/pages/): plain HTML, CSS and JS files, no
 * build step, read once when the gateway starts and served from memory.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface Page {
  type: string;
  body: string;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

/** The pages' files by name (e.g. "storefront.js"). */
export function loadPages(names: string[]): Map<string, Page> {
  const dir = fileURLToPath(new URL("./pages/", import.meta.url));
  return new Map(names.map((name) => [name, { type: TYPES[name.split(".").pop()!], body: readFileSync(dir + name, "utf8") }]));
}

/**
 * Headers of a page: no inline script or style runs (the files are ours, same origin),
 * nothing may frame the shop.
 */
export const PAGE_HEADERS = {
  "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-cache",
};
