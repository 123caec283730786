/**
 * docker-compose.yml and the configuration it mounts, checked by the tools that read
 * them: `docker-compose config` (Debian's docker-compose) accepts the file and gives
 * the cluster topology of DESIGN.md; `haproxy -c` the load balancer's configuration;
 * `promtool` Prometheus' configuration and alert rules.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../src/lib/config.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SECRETS = { ADMIN_TOKEN: "compose-admin-token", WEBHOOK_SECRET: "compose-webhook-secret" };

function run(cmd: string, argv: string[], env: Record<string, string> = {}) {
  const { ADMIN_TOKEN: _a, WEBHOOK_SECRET: _w, ...base } = process.env;
  return spawnSync(cmd, argv, { cwd: ROOT, encoding: "utf8", env: { ...base, ...env } });
}

const composed = run("docker-compose", ["config"], SECRETS);
const compose = composed.status === 0 ? parse(composed.stdout) : null;
const services: Record<string, any> = compose?.services ?? {};
const role = (s: any) => s.environment?.SERVICES;
/** a volume of `docker-compose config`'s output (short "source:target[:mode]" or long syntax) */
function mount(v: any): { source: string; target: string; bind: boolean } {
  if (typeof v === "object") return { source: v.source, target: v.target, bind: v.type === "bind" };
  const [source, target] = v.split(":");
  return { source, target, bind: source.startsWith("/") };
}

describe("docker-compose.yml", () => {
  test("docker-compose config accepts it", () => {
    expect([composed.status, composed.stderr]).toEqual([0, ""]);
  });

  test("refuses to start the nodes without ADMIN_TOKEN and WEBHOOK_SECRET", () => {
    const r = run("docker-compose", ["config", "-q"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ADMIN_TOKEN/);
  });

  test("the topology of DESIGN.md: 2 gateways, 2 inventory, 2 orders, payments+sweeper x2, all from the one image built here", () => {
    const nodes = Object.entries(services).filter(([, s]) => role(s) && role(s) !== "none");
    const byRole = (r: string) => nodes.filter(([, s]) => role(s) === r).length;
    expect([byRole("gateway"), byRole("inventory"), byRole("orders"), byRole("payments,sweeper")]).toEqual([2, 2, 2, 2]);
    for (const [name, s] of nodes) {
      expect([name, s.build?.context]).toEqual([name, ROOT]);
      expect([name, s.image]).toEqual([name, "flash-sale:local"]);
      // the image's CMD runs: no command override (Node stays PID 1 and gets SIGTERM)
      expect([name, s.command, s.entrypoint]).toEqual([name, undefined, undefined]);
      // each node's settings load as the node will load them
      expect(() => loadConfig(s.environment)).not.toThrow();
      expect(s.environment.NODE_ID).toBe(name);
      // SIGKILL only after the node's own bounded shutdown
      const grace = /^(\d+)s$/.exec(s.stop_grace_period)!;
      expect(Number(grace[1]) * 1000).toBeGreaterThan(loadConfig(s.environment).shutdownTimeoutMs);
      // a gateway's health is the image's HEALTHCHECK (its HTTP readiness); the others probe the broker
      const probe = role(s) === "gateway" ? undefined : ["CMD", "node", "scripts/probe.ts", "ready"];
      expect([name, s.healthcheck?.test]).toEqual([name, probe]);
    }
  });

  test("a Redis Cluster of 3 masters with two replicas each (a promoted master keeps one) created by a one-shot job, restarted by Docker, NATS 2.12 with sync_interval always, PostgreSQL", () => {
    const redis = Object.keys(services).filter((n) => /^redis-\d$/.test(n));
    expect(redis).toHaveLength(9);
    for (const n of redis) expect([n, services[n].restart]).toEqual([n, "unless-stopped"]);
    const create = services["redis-cluster-init"].command.join(" ");
    expect(create).toContain("--cluster-replicas 2");
    for (const n of redis) expect(create).toContain(`${n}:6379`);
    expect(services["redis-cluster-init"].restart).toBe("no");
    const redisConf = readFileSync(join(ROOT, "deploy/redis/redis.conf"), "utf8");
    expect(redisConf).toMatch(/^cluster-enabled yes$/m);
    expect(redisConf).toMatch(/^appendonly yes$/m);
    expect(redisConf).toMatch(/^maxmemory-policy noeviction$/m);

    expect(services.nats.image).toMatch(/^nats:2\.12/);
    const natsConf = readFileSync(join(ROOT, "deploy/nats/nats-server.conf"), "utf8");
    expect(natsConf).toMatch(/jetstream\s*\{[^}]*sync_interval:\s*always/);
    expect(services.postgres.image).toMatch(/^postgres:/);
    const env = services["gateway-1"].environment;
    expect(env.REDIS_NODES.split(",").map((n: string) => n.split(":")[0]).sort()).toEqual(redis.sort());
    expect(env.NATS_URL).toBe("nats://nats:4222");
    expect(new URL(env.DATABASE_URL).hostname).toBe("postgres");
  });

  test("every file the services mount exists", () => {
    const binds = Object.entries(services).flatMap(([name, s]) =>
      (s.volumes ?? []).map(mount).filter((m: { bind: boolean }) => m.bind).map((m: { source: string }) => [name, m.source]));
    expect(binds.length).toBeGreaterThan(0);
    for (const [name, source] of binds) expect([name, source, existsSync(source)]).toEqual([name, source, true]);
  });

  test("HAProxy balances the two gateways with health checks on /health/ready, and haproxy -c accepts its configuration", () => {
    const cfg = readFileSync(join(ROOT, "deploy/haproxy/haproxy.cfg"), "utf8");
    expect(cfg).toMatch(/http-check send meth GET uri \/health\/ready/);
    const servers = [...cfg.matchAll(/^\s*server\s+\S+\s+([\w-]+):(\d+)/gm)].map((m) => [m[1], Number(m[2])]);
    const gateways = Object.keys(services).filter((n) => role(services[n]) === "gateway");
    expect(servers.map(([h]) => h).sort()).toEqual(gateways.sort());
    for (const [host, port] of servers) expect(String(port)).toBe(services[host].environment.PORT);
    // the error pages, mounted at /usr/local/etc/haproxy/errors in the container
    expect(services.haproxy.volumes.map(mount)).toContainEqual({ source: join(ROOT, "deploy/haproxy/errors"), target: "/usr/local/etc/haproxy/errors", bind: true });
    const dir = mkdtempSync(join(tmpdir(), "flash-haproxy-"));
    try {
      writeFileSync(join(dir, "haproxy.cfg"), cfg.replaceAll("/usr/local/etc/haproxy/errors", join(ROOT, "deploy/haproxy/errors")));
      const check = run("haproxy", ["-c", "-f", join(dir, "haproxy.cfg")]);
      expect([check.status, check.stdout + check.stderr]).toEqual([0, expect.stringContaining("Configuration file is valid")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(services.haproxy.volumes.map(mount)).toContainEqual({ source: join(ROOT, "deploy/haproxy/haproxy.cfg"), target: "/usr/local/etc/haproxy/haproxy.cfg", bind: true });
  });

  test("Prometheus scrapes every node on its metrics port with the alert rules loaded, and promtool accepts both", () => {
    const prom = parse(readFileSync(join(ROOT, "deploy/prometheus/prometheus.yml"), "utf8"));
    const targets = prom.scrape_configs.flatMap((j: any) => j.static_configs.flatMap((c: any) => c.targets)) as string[];
    for (const [name, s] of Object.entries(services).filter(([, s]) => role(s) && role(s) !== "none")) {
      const port = role(s) === "gateway" ? s.environment.PORT : s.environment.METRICS_PORT;
      expect(targets).toContain(`${name}:${port}`);
    }
    // promtool resolves rule_files relative to the config: check a copy laid out as in the container
    const dir = mkdtempSync(join(tmpdir(), "flash-prom-"));
    try {
      const mounted = readFileSync(join(ROOT, "deploy/prometheus/prometheus.yml"), "utf8").replace("/etc/prometheus/alerts.yml", join(dir, "alerts.yml"));
      copyFileSync(join(ROOT, "deploy/prometheus/alerts.yml"), join(dir, "alerts.yml"));
      writeFileSync(join(dir, "prometheus.yml"), mounted);
      const config = run("promtool", ["check", "config", join(dir, "prometheus.yml")]);
      expect([config.status, config.stdout + config.stderr]).toEqual([0, expect.stringContaining("SUCCESS")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const rules = run("promtool", ["check", "rules", "deploy/prometheus/alerts.yml"]);
    expect([rules.status, rules.stdout]).toEqual([0, expect.stringContaining("SUCCESS: 5 rules found")]);
    expect(services.prometheus.volumes.map(mount)).toContainEqual({ source: join(ROOT, "deploy/prometheus/alerts.yml"), target: "/etc/prometheus/alerts.yml", bind: true });
    expect(services.prometheus.volumes.map(mount)).toContainEqual({ source: join(ROOT, "deploy/prometheus/prometheus.yml"), target: "/etc/prometheus/prometheus.yml", bind: true });
  });

  test("Grafana is provisioned with the Prometheus data source and the dashboard", () => {
    const g = services.grafana;
    const mounts = g.volumes.map(mount).map((m: { source: string; target: string }) => [m.source, m.target]);
    expect(mounts).toContainEqual([join(ROOT, "deploy/grafana/provisioning"), "/etc/grafana/provisioning"]);
    expect(mounts).toContainEqual([join(ROOT, "deploy/grafana"), "/var/lib/grafana/dashboards"]);
    const ds = parse(readFileSync(join(ROOT, "deploy/grafana/provisioning/datasources/prometheus.yml"), "utf8"));
    expect(ds.datasources[0].url).toBe("http://prometheus:9090");
    const dash = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/flash-sale.json"), "utf8"));
    expect(dash.templating.list[0].current.value).toBe(ds.datasources[0].uid);
    const provider = parse(readFileSync(join(ROOT, "deploy/grafana/provisioning/dashboards/flash-sale.yml"), "utf8"));
    expect(provider.providers[0].options.path).toBe("/var/lib/grafana/dashboards");
  });
});
