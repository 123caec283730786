/**
 * Every Redis key name is built here, and every one carries the deployment's
 * namespace (STREAM_PREFIX): deployments that share a Redis Cluster (staging and
 * production, say) never read or write each other's keys.
 *
 * All keys of one product share the hash tag `{<ns>:p:<id>}`, so they live in one
 * Cluster slot and one Lua script may touch them all; the namespace is inside the tag,
 * so the same product id of two deployments lands in two unrelated slots.
 */
export interface ProductKeys {
  meta: string;
  stock: string;
  res: string;
  exp: string;
  users: string;
  idem: (key: string) => string;
  /** placeholder passed as KEYS[i] when a request carries no idempotency key (same slot). */
  noIdem: string;
  /** the product's line (access queue or draw): its settings and counters (lineOpen-1.lua) */
  line: string;
  /** ticket id -> ticket record */
  lineTickets: string;
  /** join number -> ticket id */
  lineJoins: string;
  /** user -> the user's live ticket id */
  lineUsers: string;
  /** admitted tickets, scored by their entry's expiry */
  lineEntries: string;
}

export interface DeploymentKeys {
  readonly namespace: string;
  product(productId: number): ProductKeys;
  /** Global marker of an Idempotency-Key: detects the same key reused for another product. */
  idempotencyOwner(key: string): string;
  /**
   * Products that have a shard (a set on one slot, scanned by the sweeper), so
   * deployments sharing a Redis never sweep each other.
   */
  readonly productIndex: string;
  /** Products sold through a line (a set on one slot): the inventory's admission timer steps each. */
  readonly lineIndex: string;
  /** A join challenge's solution once used (its signature): kept until the challenge expires. */
  challengeUsed(signature: string): string;
  /** A signed-out dashboard session (src/ops/dashboard-session.ts), kept until it would have expired. */
  dashboardSessionRevoked(id: string): string;
}

/** The key names of one deployment; `namespace` is its STREAM_PREFIX ([A-Za-z0-9_-], no `{}:`). */
export function deploymentKeys(namespace: string): DeploymentKeys {
  return {
    namespace,
    product(productId) {
      const tag = `{${namespace}:p:${productId}}`;
      return {
        meta: `${tag}:meta`,
        stock: `${tag}:stock`,
        res: `${tag}:res`,
        exp: `${tag}:exp`,
        users: `${tag}:users`,
        idem: (key: string) => `${tag}:idem:${key}`,
        noIdem: `${tag}:idem:-`,
        line: `${tag}:line`,
        lineTickets: `${tag}:line:tickets`,
        lineJoins: `${tag}:line:joins`,
        lineUsers: `${tag}:line:users`,
        lineEntries: `${tag}:line:entries`,
      };
    },
    idempotencyOwner: (key) => `idem:{${namespace}:${key}}`,
    productIndex: `{flash}:${namespace}:products`,
    lineIndex: `{flash}:${namespace}:lines`,
    challengeUsed: (signature) => `challenge:used:{${namespace}:${signature}}`,
    dashboardSessionRevoked: (id) => `dashboard:revoked:{${namespace}:${id}}`,
  };
}

/** reserveBatch-8.lua's KEYS for a product, in its order. */
export const reserveBatchKeys = (k: ProductKeys): string[] => [k.meta, k.stock, k.res, k.exp, k.users, k.line, k.lineTickets, k.lineEntries];
