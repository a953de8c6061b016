import { createServer } from "node:http";
import { DEFAULT_ISSUER_PORT } from "./index.js";

const port = Number(process.env.ISSUER_PORT ?? DEFAULT_ISSUER_PORT);
createServer((_req, res) => res.end("issuer")).listen(port, "127.0.0.1", () => {
  console.log(`issuer listening on http://127.0.0.1:${port}/`);
});
