import { spawn } from "node:child_process";

const child = spawn("pnpm", ["turbo", "run", "dev"], { stdio: "inherit" });
child.on("exit", (code) => process.exit(code ?? 0));
