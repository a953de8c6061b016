import type { NextConfig } from "next";

const securityHeaders = [
  // Nothing here is meant to be framed, sniffed, or to leak its URL to another site.
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "no-referrer" },
];

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The Redis client of the shared token store is loaded at run time only when REDIS_URL is set;
  // Node's own resolution keeps it (and its optional native parts) out of the server bundle.
  serverExternalPackages: ["ioredis"],
  typescript: { tsconfigPath: "tsconfig.build.json" },
  experimental: {
    // The only action takes an item name (at most 100 characters): 1 MB of form data is never needed.
    serverActions: { bodySizeLimit: "64kb" },
  },
  async headers() {
    return [{ source: "/:path*", headers: securityHeaders }];
  },
};

export default config;
