import { createServer } from "node:http";
import { DEFAULT_API_PORT } from "./index.js";

const port = Number(process.env.PORT ?? DEFAULT_API_PORT);
createServer((_req, res) => res.end("api")).listen(port, "127.0.0.1", () => {
  console.log(`api listening on http://127.0.0.1:${port}/`);
});
