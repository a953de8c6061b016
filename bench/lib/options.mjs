/** Command-line switches shared by the runner and every section: `--quick` is the smoke mode. */
export const quick = process.argv.includes("--quick");

/** Picks the quick or the full value of a setting. */
export const pick = (full, quickValue) => (quick ? quickValue : full);

/** `--only verify,http` runs some sections (a partial run never rewrites RESULTS.md). */
const onlyArg = process.argv.find((arg) => arg.startsWith("--only="));
export const only = onlyArg ? onlyArg.slice("--only=".length).split(",") : undefined;
