// `@repo/auth/redis`: the Redis token store and the Redis DPoP replay store, for Node and Bun.
// They need ioredis (an optional peer dependency, loaded when a store is first used) and
// node:crypto (token sealing), so they are kept out of the main entry, which runs on every runtime.
export { type RedisStoreOptions, redisStore } from "./token-client/redis-store.js";
export {
  type DpopReplayStoreOptions,
  dpopReplayStore,
  type RedisDpopReplayStore,
} from "./verifier/redis-replay-store.js";
