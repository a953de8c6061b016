import type { Adapter, AdapterFactory, AdapterPayload } from "oidc-provider";

/** Entries kept before expired ones are swept. */
const SWEEP_AT = 10_000;

/**
 * oidc-provider's storage, in memory. With JWT access tokens the only state of the
 * client-credentials flow is replay detection of `private_key_jwt` assertions, so one store per
 * running issuer (kept across provider rebuilds) is all it needs. Expired entries are swept once
 * the store grows, so a flood of assertions cannot grow it without bound.
 */
export function createMemoryStore(now: () => number = Date.now): AdapterFactory {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();

  const sweep = () => {
    const time = now();
    for (const [key, entry] of entries) if (entry.expiresAt <= time) entries.delete(key);
  };

  return (model: string): Adapter => {
    const key = (id: string) => `${model}:${id}`;
    const read = (id: string) => {
      const entry = entries.get(key(id));
      if (!entry) return undefined;
      if (entry.expiresAt <= now()) {
        entries.delete(key(id));
        return undefined;
      }
      return entry.payload;
    };
    const findBy = (field: "uid" | "userCode", value: string) => {
      for (const [stored, entry] of entries) {
        if (stored.startsWith(`${model}:`) && entry.payload[field] === value) return entry.payload;
      }
      return undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        if (entries.size >= SWEEP_AT) sweep();
        const expiresAt = expiresIn ? now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
        entries.set(key(id), { payload, expiresAt });
      },
      async find(id) {
        return read(id);
      },
      async findByUid(uid) {
        return findBy("uid", uid);
      },
      async findByUserCode(userCode) {
        return findBy("userCode", userCode);
      },
      async consume(id) {
        const payload = read(id);
        if (payload) payload.consumed = Math.floor(now() / 1000);
      },
      async destroy(id) {
        entries.delete(key(id));
      },
      async revokeByGrantId(grantId) {
        for (const [stored, entry] of entries) {
          if (entry.payload.grantId === grantId) entries.delete(stored);
        }
      },
    };
  };
}
