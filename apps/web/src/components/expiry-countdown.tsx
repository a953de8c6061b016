"use client";

import { useEffect, useState } from "react";

function format(msLeft: number): string {
  const total = Math.max(0, Math.round(msLeft / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return hours > 0 ? `${hours}h ${pad(minutes)}m ${pad(seconds)}s` : `${minutes}m ${pad(seconds)}s`;
}

/**
 * Counts down to a token's expiry. Receives only the expiry time (epoch ms), nothing of the token.
 * The server renders the first value; the browser's clock takes over after hydration.
 */
export function ExpiryCountdown({ expiresAt }: { expiresAt: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = expiresAt - now;
  const expired = left <= 0;
  return (
    <time
      className={expired ? "countdown expired" : "countdown"}
      dateTime={new Date(expiresAt).toISOString()}
      title={new Date(expiresAt).toISOString()}
      data-testid="expiry-countdown"
      suppressHydrationWarning
    >
      {expired ? "expired (a new token is fetched on the next call)" : `in ${format(left)}`}
    </time>
  );
}
