// `@repo/auth/redis`: the Redis token store, for Node and Bun. It needs ioredis (an optional peer
// dependency, loaded when a store is created) and node:crypto (token sealing), so it is kept out of
// the main entry, which runs on every runtime.
export { type RedisStoreOptions, redisStore } from "./token-client/redis-store.js";
