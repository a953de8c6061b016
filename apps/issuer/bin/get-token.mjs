#!/usr/bin/env node
// `pnpm get-token [--client dev-writer] [--audience …] [--scope …]`: the token command as a binary.
// pnpm runs a binary it finds for an unknown command without printing its script banner, so stdout
// carries the token alone and `$(pnpm get-token)` fits in a curl command with no `-s`; a script named
// `token` would need `-s`, and without it pnpm hands `token` to npm's own command of that name.
import { tsImport } from "tsx/esm/api";

await tsImport("../src/cli/token.ts", import.meta.url);
