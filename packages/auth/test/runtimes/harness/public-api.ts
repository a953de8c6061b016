// The package's main entry, whole, as a runtime's bundler resolves it.
export * from "@repo/auth";
