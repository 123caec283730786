/**
 * README.md and the pages of docs/ hold together: every relative link names a file that
 * exists (and, with an anchor, a heading of it), and README's "Where things live" table
 * names each top-level folder of the repository and nothing that is not there.
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const PAGES = ["README.md", ...readdirSync(resolve(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (page: string) => readFileSync(resolve(ROOT, page), "utf8");
/** A page without its fenced code blocks, where brackets and parentheses are code. */
const prose = (page: string) => read(page).replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchors(page: string): Set<string> {
  const headings = [...prose(page).matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]);
  return new Set(headings.map((h) => h.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-")));
}

test.each(PAGES)("every relative link of %s names a file that exists, and an anchor a heading of it", (page) => {
  const broken: string[] = [];
  for (const [, target] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    const [path, anchor] = target.split("#");
    const file = path ? resolve(ROOT, dirname(page), path) : resolve(ROOT, page);
    if (!existsSync(file)) broken.push(`${target}: no such file`);
    else if (anchor !== undefined && !anchors(relative(ROOT, file)).has(anchor)) broken.push(`${target}: no such heading`);
  }
  expect(broken).toEqual([]);
});

test("README's \"Where things live\" names every top-level folder of the repository, and only paths that exist", () => {
  const readme = read("README.md");
  const start = readme.indexOf("## Where things live");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  const named = section.split("\n").filter((l) => l.startsWith("| `")).flatMap((l) => [...l.split(" | ")[0].matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\/$/, "")));
  expect(named.filter((p) => !existsSync(resolve(ROOT, p)))).toEqual([]);
  // the folders git keeps (committed, or new and not ignored)
  const files = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).stdout.split("\n");
  const folders = new Set(files.filter((f) => f.includes("/")).map((f) => f.split("/")[0]));
  expect([...folders].filter((f) => !named.includes(f))).toEqual([]);
});
