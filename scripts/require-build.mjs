// `node ../../scripts/require-build.mjs [--build] <output>`: run first by an app's `start` script,
// so that starting an app that was never built says what to do instead of printing a stack trace.
//
// <output> is the file a build leaves (dist/main.js, .next/BUILD_ID), relative to the app. When it
// or the build of a workspace package the app depends on is missing:
//   --build   builds them with turbo (seconds for a TypeScript app), then lets the start go on;
//   otherwise prints one line naming the command to run and exits 1 (a Next.js build takes minutes,
//             which a start should not spend unannounced).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const appDir = process.cwd();
const args = process.argv.slice(2);
const build = args.includes("--build");
const output = args.find((arg) => !arg.startsWith("--"));
if (!output) {
  console.error("usage: node scripts/require-build.mjs [--build] <build output of the app>");
  process.exit(2);
}

const readManifest = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const manifest = readManifest(appDir);
const name = manifest.name;

/** The entry files of the workspace packages the app runs with, which their own builds write. */
function workspaceEntries() {
  return Object.entries(manifest.dependencies ?? {})
    .filter(([, version]) => String(version).startsWith("workspace:"))
    .map(([dependency]) => {
      const dir = realpathSync(join(appDir, "node_modules", dependency));
      const entry = readManifest(dir).exports?.["."]?.default;
      return typeof entry === "string" ? join(dir, entry) : undefined;
    })
    .filter((entry) => entry !== undefined);
}

const missing = [join(appDir, output), ...(build ? workspaceEntries() : [])].filter(
  (file) => !existsSync(file),
);
if (missing.length === 0) process.exit(0);

const command = `pnpm turbo run build --filter=${name}`;
const what = missing.map((file) => relative(root, file)).join(", ");
if (!build) {
  console.error(`${name} is not built yet (no ${what}): run \`${command}\` first.`);
  process.exit(1);
}

console.error(`${name} is not built yet (no ${what}): building it first with \`${command}\`.`);
const result = spawnSync(
  "pnpm",
  ["turbo", "run", "build", `--filter=${name}`, "--output-logs=errors-only"],
  // The build's own output goes to stderr: stdout stays the app's, from its first line.
  { cwd: root, stdio: ["ignore", process.stderr, process.stderr] },
);
if (result.status !== 0) {
  console.error(`${name}: the build failed (see above); fix it and start again.`);
  process.exit(1);
}
