import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * A copy of the repository as a fresh clone has it: its tracked and new (not ignored) files, so no
 * `dist/` or `.next/`. With `linkInstall` (the default), as after `pnpm install`: the installed
 * dependencies of this checkout are linked in (the root `node_modules/` by a symlink, each
 * workspace's own `node_modules/` copied as the links it is). Nothing in the checkout is touched.
 */
export function copyWorkspace(repo: string, { linkInstall = true } = {}): string {
  const copy = mkdtempSync(join(tmpdir(), "workspace-copy-"));
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      cwd: repo,
      encoding: "utf8",
    },
  )
    .split("\0")
    .filter((file) => file !== "" && existsSync(join(repo, file)));
  for (const file of files) cpSync(join(repo, file), join(copy, file));
  if (!linkInstall) return copy;
  symlinkSync(join(repo, "node_modules"), join(copy, "node_modules"));
  const workspaces = files
    .filter((file) => file.endsWith("/package.json"))
    .map((file) => dirname(file))
    .filter((dir) => existsSync(join(repo, dir, "node_modules")));
  for (const dir of workspaces) {
    cpSync(join(repo, dir, "node_modules"), join(copy, dir, "node_modules"), {
      recursive: true,
      verbatimSymlinks: true,
    });
  }
  return copy;
}
