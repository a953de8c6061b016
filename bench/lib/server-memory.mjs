/**
 * In a server process started with `--expose-gc`: the resident set size as it is, then the heap
 * still in use after a full collection, which tells retained memory from garbage not yet collected.
 */
export function memoryReport() {
  const { rss } = process.memoryUsage();
  globalThis.gc();
  return { rss, heapAfterGc: process.memoryUsage().heapUsed };
}
