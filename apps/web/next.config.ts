import type { NextConfig } from "next";

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The Redis client of the shared token store is loaded at run time only when REDIS_URL is set;
  // Node's own resolution keeps it (and its optional native parts) out of the server bundle.
  serverExternalPackages: ["ioredis"],
  typescript: { tsconfigPath: "tsconfig.build.json" },
};

export default config;
