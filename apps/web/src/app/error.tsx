"use client";

/**
 * Last line of defence for failures the pages do not explain themselves. Shows no message or stack:
 * in production Next replaces server errors with a digest, which is what the server log is keyed by.
 */
export default function ErrorPage({ error, retry }: { error: unknown; retry: () => void }) {
  const digest = error instanceof Error ? (error as Error & { digest?: string }).digest : undefined;
  return (
    <section className="card problem" role="alert" data-testid="problem" data-kind="unexpected">
      <h2>This page could not be shown</h2>
      <p>
        Something failed while building it on the server. The API, the authorization server or this
        app’s configuration may be at fault; the web server’s log says which.
      </p>
      {digest ? (
        <p className="hint">
          Reference for the log: <code>{digest}</code>
        </p>
      ) : null}
      <div className="actions">
        <button className="button" type="button" onClick={() => retry()}>
          Try again
        </button>
      </div>
    </section>
  );
}
