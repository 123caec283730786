/**
 * The image (Dockerfile, .dockerignore) without a Docker engine: what it COPYs exists
 * and is not ignored, every file the started node imports is in the image, runtime
 * imports are `dependencies` (not devDependencies), the start command is docs/deploying.md's,
 * and the image's contents really run: a `npm ci --omit=dev` install plus exactly the
 * COPYed files, started with the image's CMD by Node, answers, passes its
 * HEALTHCHECK, and stops cleanly on SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { builtinModules } from "node:module";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { DockerfileParser } from "dockerfile-ast";
import pg from "pg";
import { eventually } from "../support/stack.ts";
import { NATS_URL, PG_ADMIN_URL, TEST_DATABASE, TEST_PORT_BASE, TEST_REDIS_NODES } from "../support/env.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const START_COMMAND = ["node", "--experimental-async-context-frame", "scripts/run.ts"];

const args = (content: string | null) => JSON.parse((content ?? "").trim()) as string[];
const stages = dockerfile.getFROMs();
const runtimeStage = stages.length - 1;
const instructions = dockerfile.getInstructions();
const lineOf = (i: { getRange(): { start: { line: number } } }) => i.getRange().start.line;
const inRuntimeStage = (i: { getRange(): { start: { line: number } } }) => lineOf(i) > lineOf(stages[runtimeStage]);

/** The build context's files the runtime stage COPYs, as repo-relative paths (files or directories). */
const copied: string[] = dockerfile.getCOPYs()
  .filter((c) => inRuntimeStage(c) && !c.getFromFlag())
  .flatMap((c) => c.getArguments().slice(0, -1).map((a) => a.getValue()));

/** .dockerignore patterns, matched as Docker does: relative to the context's root. */
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
  .map((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}(/|$)`));
const isIgnored = (path: string) => ignored.some((re) => re.test(path));
const inImage = (path: string) => copied.some((c) => path === c || path.startsWith(c.replace(/\/?$/, "/")));

/** Every repo file a module imports (relative specifiers), and the packages it imports by name. */
function importGraph(entries: string[]): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(join(ROOT, file), "utf8");
    const specifiers = [
      // `import type` / `export type` are erased by Node's type stripping: not loaded at run time
      ...[...source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gms)].filter((m) => !/^\s*(?:import|export)\s+type\s/.test(m[0])),
      ...source.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
      ...source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1]);
    for (const s of specifiers) {
      if (s.startsWith(".")) {
        queue.push(relative(ROOT, resolve(ROOT, dirname(file), s)));
      } else if (!s.startsWith("node:") && !builtinModules.includes(s)) {
        const name = s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0];
        if (!packages.has(name)) packages.set(name, file);
      }
    }
  }
  return { files, packages };
}

describe("the image (Dockerfile)", () => {
  test("two stages from an official node:22 image; the runtime dependencies installed without devDependencies", () => {
    const arg = instructions.find((i) => i.getKeyword() === "ARG" && /^NODE_IMAGE=/.test(i.getArgumentsContent() ?? ""));
    const nodeImage = arg!.getArgumentsContent()!.split("=")[1];
    expect(nodeImage).toMatch(/^node:22(\.|-|$)/);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const f of stages) expect(f.getImageName()).toBe("${NODE_IMAGE}");
    const runs = instructions.filter((i) => i.getKeyword() === "RUN").map((i) => i.getArgumentsContent() ?? "");
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(dockerfile.getCOPYs().some((c) => inRuntimeStage(c) && c.getFromFlag()?.getValue() === "deps")).toBe(true);
  });

  test("runs as a non-root user, and Node is PID 1: the exec-form CMD is the start command docs/deploying.md documents", () => {
    const users = instructions.filter((i) => i.getKeyword() === "USER" && inRuntimeStage(i)).map((i) => i.getArgumentsContent());
    expect(users.at(-1)).toBe("node");
    const cmds = dockerfile.getCMDs();
    expect(cmds).toHaveLength(1);
    expect(args(cmds[0].getArgumentsContent())).toEqual(START_COMMAND);
    expect(instructions.some((i) => i.getKeyword() === "ENTRYPOINT")).toBe(false);
    expect(pkg.scripts.node).toBe(START_COMMAND.join(" "));
    expect(readFileSync(join(ROOT, "docs/deploying.md"), "utf8")).toContain(START_COMMAND.join(" "));
  });

  test("every file the image COPYs exists and is not excluded by .dockerignore", () => {
    expect(copied.length).toBeGreaterThan(5);
    for (const path of copied) {
      expect([path, existsSync(join(ROOT, path))]).toEqual([path, true]);
      expect([path, isIgnored(path)]).toEqual([path, false]);
    }
    // and the context keeps out what must not be in an image
    for (const path of ["node_modules", ".git", ".data", "test"]) expect([path, isIgnored(path)]).toEqual([path, true]);
  });

  test("every module the node and the COPYed scripts import is in the image, and every package they import is a runtime dependency", () => {
    const entries = copied.filter((p) => p.endsWith(".ts") && statSync(join(ROOT, p)).isFile());
    expect(entries).toEqual(expect.arrayContaining(["scripts/run.ts", "scripts/probe.ts"]));
    const { files, packages } = importGraph(entries);
    for (const file of files) expect([file, inImage(file)]).toEqual([file, true]);
    const deps = Object.keys(pkg.dependencies);
    for (const [name, importer] of packages) expect([name, importer, deps.includes(name)]).toEqual([name, importer, true]);
    expect(packages.has("moleculer")).toBe(true);
  });

  test("the HEALTHCHECK runs the probe of /health/live with Node (no shell, no curl in the image)", () => {
    const [hc] = dockerfile.getHEALTHCHECKs();
    const content = hc.getArgumentsContent()!;
    const cmd = args(content.slice(content.indexOf("CMD") + 3));
    expect(cmd).toEqual(["node", "scripts/probe.ts", "live"]);
    expect(readFileSync(join(ROOT, "scripts/probe.ts"), "utf8")).toContain("/health/${kind}");
  });

  describe("its contents, installed with npm ci --omit=dev and started with the CMD", () => {
    const port = TEST_PORT_BASE + 90;
    const database = `${TEST_DATABASE}_image_${randomBytes(4).toString("hex")}`;
    let dir: string;
    let node: ChildProcess | undefined;
    let output = "";
    let env: NodeJS.ProcessEnv;

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "flash-image-"));
      for (const f of ["package.json", "package-lock.json"]) cpSync(join(ROOT, f), join(dir, f));
      // from npm's cache (filled by the suite's own npm ci); the registry only if something is missing
      const install = (mode: string) => spawnSync("npm", ["ci", "--omit=dev", "--ignore-scripts", mode, "--no-audit", "--no-fund"], { cwd: dir, encoding: "utf8" });
      let npm = install("--offline");
      if (npm.status !== 0) npm = install("--prefer-offline");
      if (npm.status !== 0) throw new Error(`npm ci --omit=dev: ${npm.stderr}`);
      for (const path of copied) cpSync(join(ROOT, path), join(dir, path), { recursive: true });
      const db = new URL(PG_ADMIN_URL);
      db.pathname = `/${database}`;
      env = {
        PATH: process.env.PATH, HOME: process.env.HOME,
        NODE_ENV: "production", ADMIN_TOKEN: "image-admin-token", WEBHOOK_SECRET: "image-webhook-secret",
        HOST: "127.0.0.1", PORT: String(port), TRANSPORTER: "none", LOG_LEVEL: "warn",
        DATABASE_URL: db.toString(), REDIS_NODES: TEST_REDIS_NODES.join(","), NATS_URL,
        STREAM_PREFIX: `IMG${randomBytes(4).toString("hex")}`,
      };
    }, 120_000);

    afterAll(async () => {
      if (node && node.exitCode === null) node.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
      await admin.connect();
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.end();
    });

    test("starts (no devDependency missing), answers, passes its health check, and exits 0 on SIGTERM", async () => {
      expect(existsSync(join(dir, "node_modules/moleculer"))).toBe(true);
      expect(existsSync(join(dir, "node_modules/jest"))).toBe(false);
      const [bin, ...rest] = START_COMMAND;
      expect(bin).toBe("node");
      // Node directly, as in the image: process.execPath is Node 22 (the image's base)
      node = spawn(process.execPath, rest, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      node.stdout!.on("data", (d) => (output += d));
      node.stderr!.on("data", (d) => (output += d));
      const exited = new Promise<number | null>((r) => node!.once("exit", (code) => r(code)));

      await eventually(async () => node!.exitCode === null && output.includes("flash-sale listening"), 40_000, `the node to listen (output: ${output})`);
      const product = await fetch(`http://127.0.0.1:${port}/api/products/1`);
      expect(product.status).toBe(404);
      expect(((await product.json()) as { error: { code: string } }).error.code).toBe("PRODUCT_NOT_FOUND");

      const probe = spawnSync(process.execPath, ["scripts/probe.ts", "live"], { cwd: dir, env, encoding: "utf8" });
      expect([probe.status, probe.stderr]).toEqual([0, ""]);

      node.kill("SIGTERM");
      expect(await exited).toBe(0);
      // and the probe sees a node that is gone
      const gone = spawnSync(process.execPath, ["scripts/probe.ts", "live"], { cwd: dir, env, encoding: "utf8" });
      expect(gone.status).toBe(1);
    }, 60_000);
  });
});
