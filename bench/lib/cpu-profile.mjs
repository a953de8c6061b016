import { readFileSync } from "node:fs";

/** A frame's readable name: function, file (the last two path parts) and line. */
function frameName({ functionName, url, lineNumber }) {
  const file = url
    .replace(/^.*\/node_modules\//, "")
    .split("/")
    .slice(-2)
    .join("/");
  return `${functionName || "(anonymous)"} ${file}${file ? `:${lineNumber + 1}` : ""}`.trim();
}

/**
 * Self time per function of a V8 `.cpuprofile` (as `node --cpu-prof` writes it), in µs, largest
 * first, with the profile's total.
 */
export function selfTimes(path) {
  const profile = JSON.parse(readFileSync(path, "utf8"));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const name = frameName(nodes.get(id).callFrame);
    self.set(name, (self.get(name) ?? 0) + delta);
    total += delta;
  });
  return { total, rows: [...self].sort((a, b) => b[1] - a[1]) };
}
