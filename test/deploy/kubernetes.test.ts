/**
 * deploy/k8s: the example overlay rendered like `kustomize build` (test/support/kustomize.ts),
 * every object validated against the Kubernetes schemas (kubernetes-models) and checked
 * for fields the API does not know (the models' TypeScript types), and what
 * the deployment promises checked on the rendered objects: a Deployment per role from
 * the one image, probes on the API's health routes, resources, spread, budgets, the
 * gateway HPA and Service, scrape annotations, config references that resolve.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { renderKustomization, readYamlDocuments, strategicMerge, type K8sObject } from "../support/kustomize.ts";
import { loadConfig } from "../../src/lib/config.ts";

const K8S = join(import.meta.dirname, "../../deploy/k8s");
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/Service": Service,
};
/** the models' TypeScript interface of each kind, for the excess-property check */
const TYPES: Record<string, [string, string]> = {
  "apps/v1/Deployment": ["IDeployment", "kubernetes-models/apps/v1/Deployment"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["IHorizontalPodAutoscaler", "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler"],
  "policy/v1/PodDisruptionBudget": ["IPodDisruptionBudget", "kubernetes-models/policy/v1/PodDisruptionBudget"],
  "v1/ConfigMap": ["IConfigMap", "kubernetes-models/v1/ConfigMap"],
  "v1/Namespace": ["INamespace", "kubernetes-models/v1/Namespace"],
  "v1/Secret": ["ISecret", "kubernetes-models/v1/Secret"],
  "v1/Service": ["IService", "kubernetes-models/v1/Service"],
};
const ROLES: Record<string, string> = { gateway: "gateway", inventory: "inventory", orders: "orders", ops: "payments,sweeper" };

function validate(o: K8sObject): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}

/**
 * The schema validation accepts fields it does not know; TypeScript's excess-property
 * check on object literals typed with the models' interfaces does not: `tsc` over the
 * objects written as literals lists every field the Kubernetes API has no place for.
 */
function unknownFields(objects: K8sObject[]): string {
  const root = resolve(import.meta.dirname, "../..");
  mkdirSync(join(root, ".data"), { recursive: true });
  const dir = mkdtempSync(join(root, ".data/k8s-types-"));
  try {
    const used = new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`));
    const lines = [...used].map((k) => `import type { ${TYPES[k][0]} } from "${TYPES[k][1]}";`);
    objects.forEach((o, i) => lines.push(`export const o${i}: ${TYPES[`${o.apiVersion}/${o.kind}`][0]} = ${JSON.stringify(o)};`));
    writeFileSync(join(dir, "objects.ts"), lines.join("\n") + "\n");
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true, types: [] },
      files: ["objects.ts"],
    }));
    const tsc = spawnSync(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    return (tsc.stdout + tsc.stderr).replaceAll(dir + "/", "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rendered = renderKustomization(join(K8S, "overlays/example"));
const find = (kind: string, name: string) => rendered.find((o) => o.kind === kind && o.metadata.name === name);
const deployments = rendered.filter((o) => o.kind === "Deployment");
const container = (d: K8sObject) => d.spec.template.spec.containers[0];
const env = (d: K8sObject, name: string) => container(d).env.find((e: { name: string }) => e.name === name)?.value;

describe("Kubernetes manifests (deploy/k8s)", () => {
  test("every rendered object of the example overlay is valid against the Kubernetes schemas", () => {
    expect(rendered.length).toBeGreaterThanOrEqual(13);
    for (const o of rendered) {
      try {
        validate(o);
      } catch (err) {
        throw new Error(`${o.kind} ${o.metadata.name}: ${(err as Error).message}`);
      }
    }
  });

  test("no rendered object has a field the Kubernetes API does not know", () => {
    expect(unknownFields(rendered)).toBe("");
  });

  test("the unknown-field check finds a misspelt field", () => {
    const d = find("Deployment", "flash-sale-gateway")!;
    const typo = strategicMerge(d, { spec: { template: { spec: { containers: [{ name: "flash-sale", readinesProbe: { httpGet: { path: "/health/ready", port: 3000 } } }] } } } });
    expect(unknownFields([typo])).toMatch(/readinesProbe\W+ does not exist in type 'IContainer'/);
  });

  test("the schema validation refuses a broken Deployment (a wrong type, a missing required field)", () => {
    const d = find("Deployment", "flash-sale-gateway")!;
    expect(() => validate(strategicMerge(d, { spec: { replicas: "two" } }))).toThrow(/replicas/);
    expect(() => validate(strategicMerge(d, { spec: { selector: null } }))).toThrow(/selector/);
  });

  test("one Deployment per role, all from the overlay's image, each with its SERVICES and a node id per pod", () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(Object.keys(ROLES).map((r) => `flash-sale-${r}`).sort());
    for (const [role, services] of Object.entries(ROLES)) {
      const d = find("Deployment", `flash-sale-${role}`)!;
      expect(d.metadata.namespace).toBe("flash-sale");
      expect(container(d).image).toBe("registry.example.com/shop/flash-sale:0.1.0");
      expect(env(d, "SERVICES")).toBe(services);
      // each value names known services (the node refuses unknown ones at start)
      expect(() => loadConfig({ NODE_ENV: "test", SERVICES: services, REDIS_NODES: "r:6379" })).not.toThrow();
      expect(container(d).env.find((e: { name: string }) => e.name === "NODE_ID").valueFrom.fieldRef.fieldPath).toBe("metadata.name");
      expect(d.spec.selector.matchLabels).toEqual(d.spec.template.metadata.labels);
    }
  });

  test("gateways: readiness on /health/ready, liveness on /health/live, on the port the Service targets", () => {
    const d = find("Deployment", "flash-sale-gateway")!;
    const c = container(d);
    expect(c.readinessProbe.httpGet).toEqual({ path: "/health/ready", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(c.ports.find((p: { name: string }) => p.name === "http").containerPort).toBe(3000);
    const svc = find("Service", "flash-sale-gateway")!;
    expect(svc.spec.ports[0].targetPort).toBe("http");
    expect(svc.spec.selector).toEqual(d.spec.template.metadata.labels);
  });

  test("the other roles are probed on their only listener, METRICS_PORT, which the ConfigMap sets", () => {
    const cm = find("ConfigMap", "flash-sale-config")!;
    for (const role of ["inventory", "orders", "ops"]) {
      const c = container(find("Deployment", `flash-sale-${role}`)!);
      const port = c.ports.find((p: { name: string }) => p.name === "metrics").containerPort;
      expect(String(port)).toBe(cm.data.METRICS_PORT);
      expect(c.readinessProbe.httpGet).toEqual({ path: "/metrics", port: "metrics" });
      expect(c.livenessProbe.httpGet).toEqual({ path: "/metrics", port: "metrics" });
    }
  });

  test("every pod: resources, spread over nodes and zones, scrape annotations, config and secret that exist, grace longer than the drain", () => {
    const cm = find("ConfigMap", "flash-sale-config")!;
    const config = loadConfig({ ...cm.data, NODE_ENV: "test" });
    for (const d of deployments) {
      const spec = d.spec.template.spec;
      const c = container(d);
      for (const k of ["requests", "limits"]) expect(Object.keys(c.resources[k]).sort()).toEqual(["cpu", "memory"]);
      expect(spec.topologySpreadConstraints.map((t: { topologyKey: string }) => t.topologyKey).sort()).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
      for (const t of spec.topologySpreadConstraints) expect(t.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
      const a = d.spec.template.metadata.annotations;
      expect(a["prometheus.io/scrape"]).toBe("true");
      expect(a["prometheus.io/path"]).toBe("/metrics");
      expect(c.ports.map((p: { containerPort: number }) => String(p.containerPort))).toContain(a["prometheus.io/port"]);
      // the config map and the secret, both rendered
      const refs = c.envFrom.map((ref: { configMapRef?: { name: string }; secretRef?: { name: string } }) =>
        ref.configMapRef ? ["ConfigMap", ref.configMapRef.name] : ["Secret", ref.secretRef?.name]);
      expect(refs.map(([kind]: string[]) => kind).sort()).toEqual(["ConfigMap", "Secret"]);
      for (const [kind, name] of refs) expect([kind, name, find(kind, name) !== undefined]).toEqual([kind, name, true]);
      // the node's own graceful shutdown (drain, then finish and ack) ends before Kubernetes kills it
      expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
      expect(config.shutdownTimeoutMs).toBeGreaterThan(config.shutdownDrainMs + config.requestTimeoutMs);
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
    const secret = find("Secret", "flash-sale-secrets")!;
    expect(Object.keys(secret.stringData).sort()).toEqual(["ADMIN_TOKEN", "DATABASE_URL", "WEBHOOK_SECRET"]);
    // the production settings load (a bad value would stop every pod at start)
    expect(() => loadConfig({ ...cm.data, ...secret.stringData })).not.toThrow();
    expect(config.streamReplicas).toBe(3);
    expect(config.redisMinReplicas).toBe(1);
  });

  test("a disruption budget per role, and an HPA for the gateways with the overlay's ceiling", () => {
    for (const role of Object.keys(ROLES)) {
      const pdb = find("PodDisruptionBudget", `flash-sale-${role}`)!;
      expect(pdb.spec.selector.matchLabels).toEqual(find("Deployment", `flash-sale-${role}`)!.spec.selector.matchLabels);
      expect(pdb.spec.minAvailable).toBeGreaterThanOrEqual(1);
    }
    const hpa = find("HorizontalPodAutoscaler", "flash-sale-gateway")!;
    expect(find(hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name)).toBeDefined();
    expect(hpa.spec.scaleTargetRef.name).toBe("flash-sale-gateway");
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([3, 30]);
    // the patch merged the container by name: the rest of the inventory container is intact
    const inv = container(find("Deployment", "flash-sale-inventory")!);
    expect(inv.resources.requests.cpu).toBe("1");
    expect(inv.readinessProbe).toBeDefined();
  });

  test("the values for NATS (JetStream, R3, sync_interval always), Redis Cluster (3 masters, two replicas each) and CloudNativePG", () => {
    const [nats] = readYamlDocuments(join(K8S, "values/nats.yaml"));
    expect(nats.config.cluster).toEqual({ enabled: true, replicas: 3 });
    expect(nats.config.jetstream.enabled).toBe(true);
    expect(nats.config.jetstream.fileStore.pvc.enabled).toBe(true);
    expect(nats.config.jetstream.merge.sync_interval).toBe("always");
    const [redis] = readYamlDocuments(join(K8S, "values/redis-cluster.yaml"));
    expect(redis.cluster.nodes / (redis.cluster.replicas + 1)).toBe(3);
    expect(redis.cluster.replicas).toBe(2); // a promoted master still has a replica: REDIS_MIN_REPLICAS=1 keeps selling
    expect(redis.redis.configmap).toMatch(/appendonly yes/);
    expect(redis.redis.configmap).toMatch(/maxmemory-policy noeviction/);
    const [pg] = readYamlDocuments(join(K8S, "values/cloudnative-pg-cluster.yaml"));
    expect([pg.apiVersion, pg.kind]).toEqual(["postgresql.cnpg.io/v1", "Cluster"]);
    expect(pg.spec.instances).toBeGreaterThanOrEqual(3);
    expect(pg.spec.bootstrap.initdb.database).toBe("flash_sale");
    const secret = find("Secret", "flash-sale-secrets")!;
    expect(new URL(secret.stringData.DATABASE_URL).hostname).toBe(`${pg.metadata.name}-rw`);
  });
});
