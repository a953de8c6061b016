import { afterEach } from "vitest";
import { stopAllChildApps } from "./child-app.js";

type Cleanup = () => unknown;

/**
 * Registers cleanups that run after each test, last registered first, even when the test failed;
 * then kills any child process a test forgot.
 */
export function useTeardown(): (cleanup: Cleanup) => void {
  const stack: Cleanup[] = [];
  afterEach(async () => {
    const errors: unknown[] = [];
    for (let cleanup = stack.pop(); cleanup; cleanup = stack.pop()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    await stopAllChildApps();
    if (errors.length > 0) throw new AggregateError(errors, "teardown failed");
  });
  return (cleanup) => {
    stack.push(cleanup);
  };
}
