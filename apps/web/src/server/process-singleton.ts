import "server-only";

type Registry = Map<string, unknown>;
const registryKey = Symbol.for("@repo/web/process-singletons");

/**
 * One instance per server process. Kept on globalThis because `next dev` re-evaluates modules on
 * every edit: a module-level variable would build a new token client (and a new token request, and
 * a new Redis connection) each time.
 */
export function processSingleton<T>(name: string, create: () => T): T {
  const holder = globalThis as typeof globalThis & { [registryKey]?: Registry };
  holder[registryKey] ??= new Map();
  const registry = holder[registryKey];
  if (!registry.has(name)) registry.set(name, create());
  return registry.get(name) as T;
}
