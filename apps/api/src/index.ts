export const DEFAULT_API_PORT = 4000;
