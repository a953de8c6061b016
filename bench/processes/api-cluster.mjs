// A fleet of API processes behind one port: the primary forks `workers` processes with
// node:cluster, each running the built `@repo/api` on the same port (the primary hands each new
// connection to the next worker). Started by the fleet benchmark.
import cluster from "node:cluster";
import { reportFailures } from "../lib/child.mjs";

const { workers, env } = JSON.parse(process.argv[2]);

if (cluster.isPrimary) {
  reportFailures();
  cluster.setupPrimary({ execArgv: [], args: process.argv.slice(2) });
  const forked = Array.from({ length: workers }, () => cluster.fork());
  const replies = (type) =>
    Promise.all(
      forked.map(
        (worker) =>
          new Promise((resolve) => {
            const onMessage = (message) => {
              if (message.type !== type) return;
              worker.off("message", onMessage);
              resolve(message);
            };
            worker.on("message", onMessage);
            worker.send({ type });
          }),
      ),
    );
  const ready = await Promise.all(
    forked.map((worker) => new Promise((resolve) => worker.once("message", resolve))),
  );
  process.send({ type: "ready", url: ready[0].url });
  process.on("message", async (message) => {
    if (message.type === "cpu") {
      // The fleet's CPU: every worker's and the primary's own (it accepts the connections).
      const usages = (await replies("cpu")).map((reply) => reply.usage);
      usages.push(process.cpuUsage());
      const usage = usages.reduce(
        (sum, each) => ({ user: sum.user + each.user, system: sum.system + each.system }),
        { user: 0, system: 0 },
      );
      process.send({ type: "cpu", usage });
    }
    if (message.type === "close") {
      await replies("close");
      process.exit(0);
    }
  });
} else {
  const api = await import("@repo/api");
  const parsed = api.parseEnv(env);
  if (!parsed.ok) throw new Error(parsed.message);
  const server = await api.startApiServer(parsed.config);
  process.send({ type: "ready", url: server.url });
  process.on("message", async (message) => {
    if (message.type === "cpu") process.send({ type: "cpu", usage: process.cpuUsage() });
    if (message.type === "close") {
      await server.close();
      process.send({ type: "close" });
    }
  });
}
