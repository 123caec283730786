/**
 * GET /docs: the API reference page, and the files it loads, all served by the gateway:
 * Swagger UI's from its npm package (swagger-ui-dist), the page and its start script from
 * beside this file. A strict Content-Security-Policy keeps the page on this origin, so it
 * works where no CDN is reachable and leaks nothing to one.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ServerResponse } from "node:http";
import { FlashError } from "../../../src/lib/errors.ts";

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI sets style attributes on its elements
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

interface Asset {
  type: string;
  body: Buffer;
}

const swaggerUi = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const here = import.meta.dirname;

/** The only files served under /docs/assets/: a fixed list, never a path from the request. */
const ASSET_FILES: Record<string, [string, string]> = {
  "swagger-ui.css": [join(swaggerUi, "swagger-ui.css"), "text/css; charset=utf-8"],
  "swagger-ui-bundle.js": [join(swaggerUi, "swagger-ui-bundle.js"), "text/javascript; charset=utf-8"],
  "favicon-32x32.png": [join(swaggerUi, "favicon-32x32.png"), "image/png"],
  "api-reference.js": [join(here, "api-reference.js"), "text/javascript; charset=utf-8"],
};

export interface ApiReference {
  page(res: ServerResponse): void;
  asset(res: ServerResponse, name: unknown): void;
}

/** Reads the page and its files once, at start (a missing package fails the start, not a request). */
export function apiReference(): ApiReference {
  const page: Asset = { type: "text/html; charset=utf-8", body: readFileSync(join(here, "api-reference.html")) };
  const assets = new Map<string, Asset>(
    Object.entries(ASSET_FILES).map(([name, [file, type]]) => [name, { type, body: readFileSync(file) }]),
  );
  const send = (res: ServerResponse, a: Asset, cache: string) => {
    res.writeHead(200, {
      "Content-Type": a.type,
      "Content-Length": String(a.body.length),
      "Cache-Control": cache,
      "Content-Security-Policy": CSP,
      "X-Content-Type-Options": "nosniff",
    });
    res.end(a.body);
  };
  return {
    page: (res) => send(res, page, "no-cache"),
    asset(res, name) {
      const a = typeof name === "string" ? assets.get(name) : undefined;
      if (!a) throw new FlashError("NOT_FOUND", "no such file");
      send(res, a, "public, max-age=3600");
    },
  };
}
