import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { router } from "../trpc.js";
import { auditRouter } from "./audit.js";
import { binding } from "./binding.js";
import { health } from "./health.js";
import { itemsRouter } from "./items.js";
import { whoami } from "./whoami.js";

/** Every procedure the API serves at `/trpc`. */
export const appRouter = router({
  health,
  whoami,
  binding,
  items: itemsRouter,
  audit: auditRouter,
});

export type AppRouter = typeof appRouter;
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
