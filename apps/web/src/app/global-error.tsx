"use client";

import "./globals.css";

/** Replaces the root layout when that itself fails; keeps to plain text and a retry. */
export default function GlobalError({ retry }: { error: unknown; retry: () => void }) {
  return (
    <html lang="en">
      <body>
        <title>Unavailable · tRPC M2M</title>
        <main className="page">
          <section className="card problem" role="alert">
            <h2>The app could not be shown</h2>
            <p>Something failed on the server. Its log says what; reload once it is fixed.</p>
            <div className="actions">
              <button className="button" type="button" onClick={() => retry()}>
                Try again
              </button>
            </div>
          </section>
        </main>
      </body>
    </html>
  );
}
