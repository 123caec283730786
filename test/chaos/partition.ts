/**
 * A network partition of one Redis node from the other nodes of its cluster, while
 * clients still reach it: the chaos cluster's Redis nodes each have a loopback address
 * of their own (scripts/redis-cluster.sh, REDIS_HOSTS=distinct) and send their
 * replication and bus traffic from it, clients connect from 127.0.0.1. iptables drops
 * what one node's address sends to another's, both ways, in a chain of this cluster's
 * own (FLASH-CHAOS-<redis base port>) that INPUT jumps to only while the partition
 * lasts. Every rule names only this cluster's addresses; heal() removes the jump and the
 * chain, and is safe to call any number of times (a run calls it first and last).
 */
import { execFile } from "node:child_process";

/** Runs a command, resolving with its stdout. */
function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(" ")}: ${String(stderr).trim() || err.message}`)) : resolve(String(stdout)))),
  );
}

export interface Partitioner {
  /** cuts the node on `port` off from every other node of the cluster */
  isolate(port: number): Promise<void>;
  heal(): Promise<void>;
  /** the rules in place now (iptables -S of the chain; empty when healed) */
  rules(): Promise<string>;
}

/** The node's own address, as scripts/redis-cluster.sh derives it from its base port. */
export function nodeAddress(redisBase: number, port: number): string {
  return `127.${(redisBase >> 8) & 255}.${redisBase & 255}.${port - redisBase + 1}`;
}

export function partitioner(redisBase: number, nodes: number): Partitioner {
  const chain = `FLASH-CHAOS-${redisBase}`;
  const ports = Array.from({ length: nodes }, (_, i) => redisBase + i);
  const ipt = (...args: string[]) => run("iptables", ["-w", "5", ...args]);
  const jumps = async () => (await ipt("-S", "INPUT")).split("\n").filter((l) => l.trim() === `-A INPUT -j ${chain}`).length;
  const self: Partitioner = {
    async isolate(port) {
      await self.heal();
      const me = nodeAddress(redisBase, port);
      await ipt("-N", chain);
      for (const other of ports.filter((p) => p !== port).map((p) => nodeAddress(redisBase, p))) {
        await ipt("-A", chain, "-s", other, "-d", me, "-j", "DROP");
        await ipt("-A", chain, "-s", me, "-d", other, "-j", "DROP");
      }
      await ipt("-I", "INPUT", "-j", chain);
    },
    async heal() {
      for (let n = await jumps(); n > 0; n--) await ipt("-D", "INPUT", "-j", chain);
      const exists = await ipt("-S", chain).then(() => true, () => false);
      if (exists) {
        await ipt("-F", chain);
        await ipt("-X", chain);
      }
    },
    async rules() {
      return ipt("-S", chain).catch(() => "");
    },
  };
  return self;
}
