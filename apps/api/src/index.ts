/**
 * `@repo/api`: the tRPC API. Typed clients import only the types (`import type { AppRouter }`);
 * hosts, tests and benchmarks start it in process with `startApiServer(parseEnv(env).config)`.
 */
export type { ApiServices, Context } from "./context.js";
export { createInnerContext } from "./context.js";
export {
  type Database,
  type DatabaseOptions,
  type Db,
  openDatabase,
} from "./db/open-database.js";
export { type ApiConfig, type EnvResult, parseEnv } from "./env.js";
export {
  createMemoryItemChangeFeed,
  type FeedEntry,
  type ItemChange,
  type ItemChangeEvent,
  type ItemChangeFeed,
  type MemoryItemChangeFeedOptions,
} from "./item-change-feed.js";
export { type Item, type ItemPage, MAX_PAGE_SIZE } from "./item-store.js";
export {
  type AppRouter,
  appRouter,
  type RouterInputs,
  type RouterOutputs,
} from "./routers/app-router.js";
export type { ItemStreamControl } from "./routers/item-changes.js";
export {
  type ApiServer,
  ListenError,
  type StartApiServerOptions,
  startApiServer,
} from "./server.js";
export type { StreamEndReason } from "./stream-lifetimes.js";
export { type ApiScope, type AuthErrorDetails, createCallerFactory } from "./trpc.js";
