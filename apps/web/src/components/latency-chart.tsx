import type { CSSProperties } from "react";
import type { ApiCall } from "../server/api-call-log";

const width = 640;
const height = 200;
const pad = { top: 12, right: 12, bottom: 26, left: 48 };

function barClass(status: number | undefined): string {
  if (status === undefined || status >= 500) return "bar-failed";
  if (status >= 400) return "bar-client-error";
  return "bar-ok";
}

function describe(call: ApiCall): string {
  const outcome = call.status === undefined ? "no answer" : `HTTP ${call.status}`;
  const time = new Date(call.startedAt).toISOString().slice(11, 19);
  return `${time} UTC · ${call.procedures.join(", ") || "?"} · ${call.durationMs.toFixed(1)} ms · ${outcome}`;
}

/** A "nice" axis maximum (1, 2 or 5 × 10ⁿ) so the gridlines land on round numbers. */
function niceCeiling(value: number): number {
  const exponent = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  const steps = [1, 2, 5, 10].map((step) => step * exponent);
  return steps.find((step) => step >= value) ?? 10 * exponent;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? 0;
}

/** Bars of the most recent API calls' latencies, oldest on the left; colour tells the outcome. */
export function LatencyChart({ calls }: { calls: readonly ApiCall[] }) {
  const durations = calls.map((call) => call.durationMs).sort((a, b) => a - b);
  const max = niceCeiling(durations.at(-1) ?? 1);
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const slot = plotWidth / Math.max(calls.length, 20);
  const gridValues = [0, max / 2, max];
  const y = (ms: number) => pad.top + plotHeight - (ms / max) * plotHeight;

  return (
    <figure style={{ margin: 0 }}>
      <svg
        className="chart"
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Latency of the last ${calls.length} API calls`}
        data-testid="latency-chart"
      >
        {gridValues.map((value) => (
          <g key={value}>
            <line
              className="grid-line"
              x1={pad.left}
              x2={width - pad.right}
              y1={y(value)}
              y2={y(value)}
            />
            <text className="axis-label" x={pad.left - 6} y={y(value) + 4} textAnchor="end">
              {`${Number(value.toFixed(1))} ms`}
            </text>
          </g>
        ))}
        {calls.map((call, index) => {
          const barHeight = Math.max(2, (call.durationMs / max) * plotHeight);
          return (
            <rect
              key={`${call.startedAt}-${index}`}
              className={barClass(call.status)}
              data-testid="latency-bar"
              x={pad.left + index * slot + slot * 0.15}
              y={pad.top + plotHeight - barHeight}
              width={slot * 0.7}
              height={barHeight}
              rx={2}
            >
              <title>{describe(call)}</title>
            </rect>
          );
        })}
        <text className="axis-label" x={pad.left} y={height - 6}>
          older
        </text>
        <text className="axis-label" x={width - pad.right} y={height - 6} textAnchor="end">
          latest
        </text>
      </svg>
      <figcaption className="legend">
        <span style={{ "--swatch": "var(--ok)" } as CSSProperties}>answered 2xx/3xx</span>
        <span style={{ "--swatch": "var(--warn)" } as CSSProperties}>answered 4xx</span>
        <span style={{ "--swatch": "var(--bad)" } as CSSProperties}>5xx or no answer</span>
        <span>
          p50 {percentile(durations, 50).toFixed(1)} ms · p95 {percentile(durations, 95).toFixed(1)}{" "}
          ms
        </span>
      </figcaption>
    </figure>
  );
}
