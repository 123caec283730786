/**
 * A newcomer's shell: the machine's PATH, with its own Node (Debian's 20), not the
 * node@22 devDependency's that `npm test` (an npm script) put first. What README tells
 * a newcomer to type must work there.
 */
import { spawn } from "node:child_process";

export function newcomerEnv(extra: Record<string, string> = {}): Record<string, string> {
  const path = (process.env.PATH ?? "").split(":").filter((dir) => dir && !dir.includes("node_modules")).join(":");
  return { PATH: path, HOME: process.env.HOME ?? "/root", LANG: "C.UTF-8", ...extra };
}

/** Runs a command line in bash, as typed in a terminal; resolves with its exit code and output. */
export function shell(line: string, env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", line], { cwd, env, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
