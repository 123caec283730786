/**
 * Redis's MONITOR, read off a plain socket: each command a server runs, as it runs it
 * (`source` "lua" for the commands of a script). ioredis's own monitor mode can emit an
 * "unexpected reply" error when lines arrive while it switches into it, under load; a
 * socket has no such state.
 */
import { connect, type Socket } from "node:net";

export interface Monitored {
  args: string[];
  /** "lua" for a script's commands, else the client's address */
  source: string;
}

export interface RedisMonitor {
  stop(): void;
}

/** Watches the servers on `ports` (127.0.0.1); resolves once every one is monitoring. */
export async function monitorRedis(ports: number[], onCommand: (c: Monitored) => void): Promise<RedisMonitor> {
  const sockets: Socket[] = [];
  await Promise.all(ports.map((port) => new Promise<void>((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    let buffered = "";
    let ready = false;
    socket.setEncoding("utf8");
    socket.once("error", reject);
    socket.on("connect", () => socket.write("MONITOR\r\n"));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\r\n"); end >= 0; end = buffered.indexOf("\r\n")) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!ready) {
          if (line === "+OK") {
            ready = true;
            socket.removeListener("error", reject);
            socket.on("error", () => undefined); // a watcher only
            resolve();
          }
          continue;
        }
        const m = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (!m) continue;
        const args = [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1].replace(/\\"/g, '"').replace(/\\\\/g, "\\"));
        onCommand({ args, source: m[1] });
      }
    });
  })));
  return { stop: () => sockets.forEach((s) => s.destroy()) };
}
