import type { Metadata } from "next";
import { ExpiryCountdown } from "../../components/expiry-countdown";
import { LatencyChart } from "../../components/latency-chart";
import { ProblemPanel } from "../../components/problem-panel";
import {
  type AuditState,
  type Health,
  loadStatus,
  type TokenState,
} from "../../server/status-data";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Status" };

const time = (epochMs: number) => `${new Date(epochMs).toISOString().slice(11, 19)} UTC`;

function TokenCard({ token }: { token: TokenState }) {
  return (
    <section className="card" aria-labelledby="token-title" data-testid="token-card">
      <div className="card-head">
        <h2 id="token-title">Access token</h2>
        {token.ok ? (
          token.fromCache ? (
            <span className="badge ok">cached</span>
          ) : (
            <span className="badge neutral">fetched for this page</span>
          )
        ) : (
          <span className="badge bad">unavailable</span>
        )}
      </div>
      {token.ok ? (
        <>
          <dl className="facts">
            <dt>Issued</dt>
            <dd>{time(token.issuedAt)}</dd>
            <dt>Expires</dt>
            <dd>
              <ExpiryCountdown expiresAt={token.expiresAt} />
            </dd>
            <dt>Scopes</dt>
            <dd className="chips">
              {token.scopes.map((scope) => (
                <span className="chip" key={scope}>
                  {scope}
                </span>
              ))}
            </dd>
          </dl>
          {token.preview ? (
            <details>
              <summary>Header fields and claims (decoded, signature not shown)</summary>
              <pre className="claims" data-testid="token-claims">
                {JSON.stringify(
                  { header: token.preview.header, claims: token.preview.claims },
                  null,
                  2,
                )}
              </pre>
            </details>
          ) : (
            <p className="empty">An opaque token: nothing to decode.</p>
          )}
        </>
      ) : (
        <p className="message bad">
          {token.problem.title}. {token.problem.summary}
        </p>
      )}
    </section>
  );
}

function Stat({
  label,
  value,
  testId,
}: {
  label: string;
  value: string | number;
  testId?: string;
}) {
  return (
    <div>
      <span className="stat-label">{label}</span>
      <span className="big-number" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}

const jwksBadge = { fresh: "ok", stale: "warn", down: "bad" } as const;
const healthBadge = { ok: "ok", degraded: "warn", unavailable: "bad" } as const;

function HealthCard({
  health,
}: {
  health: { ok: true; value: Health } | { ok: false; problem: { title: string; summary: string } };
}) {
  return (
    <section className="card" aria-labelledby="health-title" data-testid="health-card">
      <div className="card-head">
        <h2 id="health-title">API health</h2>
        {health.ok ? (
          <span className={`badge ${healthBadge[health.value.status]}`}>{health.value.status}</span>
        ) : (
          <span className="badge bad">unreachable</span>
        )}
      </div>
      {health.ok ? (
        <dl className="facts">
          <dt>Key store</dt>
          <dd>
            <span
              className={`badge ${jwksBadge[health.value.jwks.state]}`}
              data-testid="jwks-state"
            >
              {health.value.jwks.state}
            </span>
          </dd>
          <dt>Keys</dt>
          <dd>{String(health.value.jwks.keys)}</dd>
          <dt>Last refresh</dt>
          <dd>
            {health.value.jwks.lastRefreshAt === null
              ? "never"
              : time(Date.parse(health.value.jwks.lastRefreshAt))}
          </dd>
        </dl>
      ) : (
        <p className="message bad">
          {health.problem.title}. {health.problem.summary}
        </p>
      )}
    </section>
  );
}

const outcomeBadge = (status: number) => (status < 400 ? "ok" : status < 500 ? "warn" : "bad");

function AuditCard({ audit }: { audit: AuditState }) {
  return (
    <section className="card wide" aria-labelledby="audit-title" data-testid="audit-card">
      <div className="card-head">
        <h2 id="audit-title">Audit trail</h2>
        <span className="hint">latest events of the API, from audit.list</span>
      </div>
      {audit.ok ? (
        audit.events.length === 0 ? (
          <p className="empty">No events yet.</p>
        ) : (
          <ul className="items" data-testid="audit-events">
            {audit.events.map((event) => (
              <li key={event.id}>
                <span className="mono">{event.procedure}</span>{" "}
                <span className={`badge ${outcomeBadge(event.status)}`}>
                  {event.status} {event.outcome}
                </span>{" "}
                <span className="meta">
                  {event.clientId ?? "anonymous"} · {time(Date.parse(event.at))}
                </span>
              </li>
            ))}
          </ul>
        )
      ) : "missingScope" in audit ? (
        <p className="message warn" data-testid="audit-forbidden">
          The API refused to list its audit trail (403): that needs{" "}
          <code>{audit.missingScope}</code>, which this app’s token does not grant (the dev tenant’s{" "}
          <code>dev-admin</code> client has it).
        </p>
      ) : (
        <p className="message bad">
          {audit.problem.title}. {audit.problem.summary}
        </p>
      )}
    </section>
  );
}

export default async function StatusPage() {
  const data = await loadStatus();
  if (!data.ok) {
    return (
      <>
        <div className="page-head">
          <h1>Status</h1>
        </div>
        <ProblemPanel problem={data.problem} retryHref="/status" />
      </>
    );
  }
  const { stats } = data;
  return (
    <>
      <div className="page-head">
        <h1>Status</h1>
        <p>
          This server process, calling the API as <code>{data.clientId}</code> for{" "}
          <code>{data.audience}</code>. Counters since {time(data.since)}.
        </p>
      </div>
      <div className="grid">
        <TokenCard token={data.token} />
        <section className="card" aria-labelledby="client-title" data-testid="token-client-card">
          <div className="card-head">
            <h2 id="client-title">Token client</h2>
            <span
              className={`badge ${stats.storeDegraded ? "warn" : "ok"}`}
              data-testid="store-kind"
            >
              {stats.store === "redis" ? "Redis store" : "memory store"}
              {stats.storeDegraded ? " (degraded: Redis unreachable, using memory)" : ""}
            </span>
          </div>
          <div className="stat-row">
            <Stat label="Token requests" value={stats.tokenRequests} testId="token-requests" />
            <Stat label="Failed" value={stats.tokenRequestFailures} />
            <Stat label="Cache hits" value={stats.cacheHits} />
            <Stat label="Cache misses" value={stats.cacheMisses} />
          </div>
          {data.dpopJkt === undefined ? (
            <p className="hint" data-testid="dpop-binding">
              Bearer tokens (DPoP off: set <code>DPOP=on</code> to bind tokens to a key).
            </p>
          ) : (
            <div data-testid="dpop-binding">
              <p>
                DPoP-bound tokens (RFC 9449), key thumbprint{" "}
                <code className="mono" data-testid="dpop-jkt">
                  {data.dpopJkt}
                </code>
              </p>
              <div className="stat-row">
                <Stat label="Proofs sent" value={stats.dpopProofs} testId="dpop-proofs" />
                <Stat
                  label="Nonce retries"
                  value={stats.dpopNonceRetries}
                  testId="dpop-nonce-retries"
                />
              </div>
            </div>
          )}
          {data.events.length > 0 ? (
            <details>
              <summary>Recent token events</summary>
              <ul className="items">
                {data.events.map((event, index) => (
                  <li key={`${event.at}-${index}`}>
                    <span className="mono">{event.type}</span>
                    <span className="meta">{time(event.at)}</span>
                  </li>
                ))}
              </ul>
            </details>
          ) : null}
        </section>
        <HealthCard health={data.health} />
        <section className="card" aria-labelledby="relay-title" data-testid="relay-card">
          <div className="card-head">
            <h2 id="relay-title">Live updates relay</h2>
            <span className="hint">/api/items/stream → items.onChange</span>
          </div>
          <div className="stat-row">
            <Stat label="Open relays" value={data.relay.open} testId="relay-open" />
            <Stat label="Events relayed" value={data.relay.relayed} testId="relay-relayed" />
          </div>
        </section>
        <section className="card wide" aria-labelledby="latency-title">
          <div className="card-head">
            <h2 id="latency-title">Recent API calls</h2>
            <span className="hint">latency per HTTP request (batched calls count once)</span>
          </div>
          <LatencyChart calls={data.calls} />
        </section>
        <AuditCard audit={data.audit} />
      </div>
    </>
  );
}
