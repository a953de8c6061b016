/** Number and table formatting for RESULTS.md. */

/** 10000 → "10 000", as the rest of the project writes counts. */
export const count = (value) => String(value).replace(/\B(?=(\d{3})+(?!\d))/g, " ");

export const fixed = (value, digits = 2) =>
  Number.isFinite(value) ? value.toFixed(digits) : "n/a";

/** A measurement's median with its range over rounds: "1.29× (1.10–1.32)". */
export const range = (stats, digits = 2, unit = "") =>
  `${fixed(stats.median, digits)}${unit} (${fixed(stats.min, digits)}–${fixed(stats.max, digits)})`;

export const mib = (bytes) =>
  bytes === undefined ? "not measured" : `${fixed(bytes / 2 ** 20, 1)} MiB`;

export const table = (head, rows) =>
  [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
