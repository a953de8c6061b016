// Node, Bun and Deno: measures in the runtime and prints the samples as one JSON line.
import { measureAll, prepare } from "./runtime-probe.mjs";

/* global ROUNDS, ITERATIONS */
const probe = await prepare();
console.log(JSON.stringify(await measureAll(probe, ROUNDS, ITERATIONS)));
probe.close();
