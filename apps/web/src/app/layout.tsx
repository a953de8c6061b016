import "./globals.css";
import type { Metadata } from "next";
import type { ReactNode } from "react";
import { NavLink } from "./nav-link";

export const metadata: Metadata = {
  title: { default: "tRPC M2M", template: "%s · tRPC M2M" },
  description:
    "A Next.js server calling a protected tRPC API with machine-to-machine access tokens.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="topbar">
          <a className="brand" href="/">
            <span className="brand-mark" aria-hidden="true" />
            tRPC M2M
          </a>
          <nav aria-label="Main">
            <NavLink href="/">Items</NavLink>
            <NavLink href="/status">Status</NavLink>
          </nav>
        </header>
        <main className="page">{children}</main>
        <footer className="footer">
          Tokens are obtained and used on the server only; this page never sees them.
        </footer>
      </body>
    </html>
  );
}
