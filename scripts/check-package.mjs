// Checks that packages/auth is publishable as it would reach the registry: packs it the way
// `pnpm publish` does (catalog and workspace versions resolved), then lints the tarball with publint
// (strict) and @arethetypeswrong/cli, and checks what the tarball holds. Exits non-zero on any problem.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const pkgDir = join(root, "packages/auth");
const bin = (name) => join(root, "node_modules/.bin", name);
const { FORCE_COLOR: _color, ...inherited } = process.env;
const env = { ...inherited, TURBO_TELEMETRY_DISABLED: "1", NO_COLOR: "1" };

function run(cmd, args, options = {}) {
  return execFileSync(cmd, args, { env, encoding: "utf8", stdio: "pipe", ...options });
}

class StepFailed extends Error {}

function step(title, fn) {
  try {
    const output = fn();
    console.log(`ok   ${title}`);
    return output;
  } catch (error) {
    console.error(`FAIL ${title}`);
    console.error(error.stdout || "", error.stderr || "", error.stdout ? "" : error.message);
    throw new StepFailed(title);
  }
}

// Export conditions as each runtime (or its bundler) sets them, and the crypto backend it must get.
const RUNTIMES = [
  ["Node", ["node"], "node"],
  ["Bun", ["bun", "node"], "node"],
  ["Deno", ["deno", "node"], "web"],
  ["workerd", ["workerd", "worker", "browser"], "web"],
  ["Vercel Edge", ["edge-light", "worker", "browser"], "web"],
  ["no named runtime", [], "web"],
];

/** Bundles the unpacked tarball's main entry per runtime and checks which backend it pulls in. */
function checkCryptoBackends(tarball, dir) {
  mkdirSync(dir);
  run("tar", ["-xzf", tarball, "-C", dir]);
  const esbuild = createRequire(join(pkgDir, "package.json"))("esbuild");
  const manifest = JSON.parse(readFileSync(join(dir, "package", "package.json"), "utf8"));
  const external = [
    "node:*",
    ...Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }),
  ];
  const problems = [];
  for (const [runtime, conditions, backend] of RUNTIMES) {
    const { metafile } = esbuild.buildSync({
      stdin: { contents: 'export * from "@repo/auth";', resolveDir: join(dir, "package") },
      bundle: true,
      write: false,
      metafile: true,
      platform: "neutral",
      conditions,
      // Its dependencies are not unpacked: only the package's own files are followed.
      external,
      logLevel: "silent",
    });
    const backends = Object.keys(metafile.inputs).filter((file) => file.includes("dist/crypto/"));
    const expected = `dist/crypto/${backend}.js`;
    if (
      !backends.some((file) => file.endsWith(expected)) ||
      backends.some((file) => /\/(node|web)\.js$/.test(file) && !file.endsWith(expected))
    ) {
      problems.push(`${runtime} (${conditions.join(", ") || "none"}): ${backends.join(", ")}`);
    }
  }
  if (problems.length > 0) throw new Error(`wrong crypto backend for ${problems.join("; ")}`);
}

const outDir = mkdtempSync(join(tmpdir(), "auth-pack-"));
try {
  if (!process.argv.includes("--no-build")) {
    step("build @repo/auth", () =>
      run(bin("turbo"), ["run", "build", "--filter=@repo/auth", "--output-logs=errors-only"], {
        cwd: root,
      }),
    );
  }
  step("pack @repo/auth", () =>
    run("pnpm", ["pack", "--pack-destination", outDir], { cwd: pkgDir }),
  );
  const tarball = join(outDir, readdirSync(outDir).find((f) => f.endsWith(".tgz")) ?? "");

  const files = run("tar", ["-tzf", tarball]).trim().split("\n");
  step("tarball holds the build and no tests", () => {
    const unwanted = files.filter((f) => /\.test\.tsx?$/.test(f));
    if (unwanted.length > 0) throw new Error(`tests in the tarball: ${unwanted.join(", ")}`);
    if (!files.includes("package/dist/index.js") || !files.includes("package/dist/index.d.ts")) {
      throw new Error("dist/index.js or dist/index.d.ts missing from the tarball");
    }
  });
  step("packed package.json has no workspace or catalog versions", () => {
    const manifest = run("tar", ["-xOzf", tarball, "package/package.json"]);
    if (/"(workspace|catalog):/.test(manifest)) throw new Error(manifest);
  });
  step("the packed #crypto import picks each runtime's backend", () =>
    checkCryptoBackends(tarball, join(outDir, "unpacked")),
  );
  console.log(step("publint --strict", () => run(bin("publint"), ["run", tarball, "--strict"])));
  // ESM only by design (engines: node >= 20.19, where require() of ESM works): the CommonJS
  // resolution modes of TypeScript are not part of the contract.
  console.log(
    step("attw --profile esm-only", () =>
      run(bin("attw"), [
        tarball,
        "--profile",
        "esm-only",
        "--format",
        "ascii",
        "--no-emoji",
        "--no-color",
      ]),
    ),
  );
} catch (error) {
  if (!(error instanceof StepFailed)) throw error;
  process.exitCode = 1;
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
