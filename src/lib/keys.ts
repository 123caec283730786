/**
 * Every Redis key name is built here. All keys of one product share the hash tag
 * `{p:<id>}`, so they live in one Cluster slot and one Lua script may touch them all.
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
}

export function productKeys(productId: number): ProductKeys {
  const tag = `{p:${productId}}`;
  return {
    meta: `${tag}:meta`,
    stock: `${tag}:stock`,
    res: `${tag}:res`,
    exp: `${tag}:exp`,
    users: `${tag}:users`,
    idem: (key: string) => `${tag}:idem:${key}`,
    noIdem: `${tag}:idem:-`,
  };
}

/** Global marker of an Idempotency-Key: detects the same key reused for another product. */
export const idempotencyOwnerKey = (key: string) => `idem:{${key}}`;

/**
 * Products that have a shard (a set on one slot, scanned by the sweeper), one per
 * deployment (STREAM_PREFIX), so deployments sharing a Redis never sweep each other.
 */
export const productIndexKey = (namespace: string) => `{flash}:${namespace}:products`;
