/**
 * Renders a kustomization the way `kustomize build` does, for the features
 * deploy/k8s uses (npm and Debian have no kustomize): `resources` (files and
 * directories, recursively), `namespace`, `labels` (metadata labels only), `images`
 * (name → newName/newTag) and `patches` with a `path` to a strategic-merge patch
 * (maps merged, lists of named objects merged by name, other lists replaced).
 * Anything else in a kustomization.yaml is an error, never silently ignored.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } } & Record<string, any>;

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass", "PriorityClass"]);

export function readYamlDocuments(file: string): any[] {
  return parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((d) => d !== null && d !== undefined);
}

function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Kubernetes' strategic merge, as far as these manifests need it. */
export function strategicMerge(target: any, patch: any): any {
  if (isPlainObject(target) && isPlainObject(patch)) {
    const out: Record<string, any> = { ...target };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];
      else out[k] = k in target ? strategicMerge(target[k], v) : v;
    }
    return out;
  }
  if (Array.isArray(target) && Array.isArray(patch) && [...target, ...patch].every((e) => isPlainObject(e) && typeof e.name === "string")) {
    const out = target.map((e) => ({ ...e }));
    for (const p of patch) {
      const i = out.findIndex((e) => e.name === p.name);
      if (i >= 0) out[i] = strategicMerge(out[i], p);
      else out.push(p);
    }
    return out;
  }
  return patch;
}

function podSpecs(obj: K8sObject): any[] {
  const spec = obj.spec?.template?.spec ?? obj.spec?.jobTemplate?.spec?.template?.spec;
  return spec ? [spec] : [];
}

export function renderKustomization(dir: string): K8sObject[] {
  const [k] = readYamlDocuments(join(dir, "kustomization.yaml"));
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${dir}/kustomization.yaml: "${key}" is not supported by this renderer`);
  }
  let objects: K8sObject[] = [];
  for (const res of (k.resources ?? []) as string[]) {
    const path = join(dir, res);
    objects.push(...(statSync(path).isDirectory() ? renderKustomization(path) : readYamlDocuments(path)));
  }

  for (const patchRef of (k.patches ?? []) as Array<{ path?: string; patch?: string; target?: unknown }>) {
    if (!patchRef.path || patchRef.target || patchRef.patch) throw new Error(`${dir}: only patches with a path to a strategic-merge file are supported`);
    for (const patch of readYamlDocuments(join(dir, patchRef.path)) as K8sObject[]) {
      const i = objects.findIndex((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (i < 0) throw new Error(`${dir}/${patchRef.path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      objects[i] = strategicMerge(objects[i], patch);
    }
  }

  for (const label of (k.labels ?? []) as Array<{ pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }>) {
    if (label.includeSelectors || label.includeTemplates) throw new Error(`${dir}: labels with includeSelectors/includeTemplates are not supported`);
    objects = objects.map((o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, ...label.pairs } } }));
  }

  for (const image of (k.images ?? []) as Array<{ name: string; newName?: string; newTag?: string }>) {
    for (const o of objects) {
      for (const spec of podSpecs(o)) {
        for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
          const [name, tag] = String(c.image).split(/:(?=[^/]+$)/);
          if (name !== image.name) continue;
          c.image = `${image.newName ?? name}${image.newTag ?? tag ? `:${image.newTag ?? tag}` : ""}`;
        }
      }
    }
  }

  if (k.namespace) {
    objects = objects.map((o) => (CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } }));
  }
  return objects;
}
