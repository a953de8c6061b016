import { fork } from "node:child_process";
import { once } from "node:events";

/**
 * Starts a Node child process with an IPC channel and returns helpers to exchange messages with it.
 * A non-zero exit, or an exit while a message is awaited, is an error, so a crash fails the run.
 */
export function startChild(modulePath, { args = [], execArgv = [] } = {}) {
  const child = fork(modulePath, args, {
    execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const inbox = [];
  const waiters = [];
  let closing = false;
  const exited = new Promise((resolve, reject) => {
    child.on("exit", (code, signal) => {
      const failed = code !== 0 && !(closing && signal === "SIGTERM");
      const error = new Error(`${modulePath} exited (code ${code}, signal ${signal})`);
      for (const waiter of waiters.splice(0)) waiter.reject(error);
      if (failed) reject(error);
      else resolve();
    });
  });
  exited.catch(() => {});
  child.on("message", (message) => {
    const index = waiters.findIndex((waiter) => waiter.matches(message));
    if (index === -1) inbox.push(message);
    else waiters.splice(index, 1)[0].resolve(message);
  });
  const settle = (message) => {
    if (message.type === "error") throw new Error(`${modulePath}: ${message.message}`);
    return message;
  };
  return {
    send: (message) => child.send(message),
    /** Resolves with the next message of this type; an `error` message from the child rejects. */
    receive(type) {
      const matches = (message) => message.type === type || message.type === "error";
      const index = inbox.findIndex(matches);
      if (index !== -1) return Promise.resolve(inbox.splice(index, 1)[0]).then(settle);
      return new Promise((resolve, reject) => waiters.push({ matches, resolve, reject })).then(
        settle,
      );
    },
    async request(message, replyType) {
      const reply = this.receive(replyType);
      child.send(message);
      return reply;
    },
    async stop() {
      closing = true;
      if (child.exitCode === null && child.signalCode === null) {
        // A child that is already on its way out has closed the channel: that is not an error.
        if (child.connected) child.send({ type: "close" }, () => {});
        const timer = setTimeout(() => child.kill("SIGTERM"), 10_000);
        await once(child, "exit");
        clearTimeout(timer);
      }
      await exited;
    },
    exited,
  };
}

/**
 * In a child: report an uncaught failure to the parent as an `error` message and exit non-zero, and
 * exit when the parent goes away so that no server outlives a crashed run.
 */
export function reportFailures() {
  process.on("disconnect", () => process.exit(process.exitCode ?? 0));
  const fail = (error) => {
    console.error(error);
    process.send?.({ type: "error", message: String(error?.stack ?? error) });
    process.exitCode = 1;
    setImmediate(() => process.exit(1));
  };
  process.on("uncaughtException", fail);
  process.on("unhandledRejection", fail);
}

/** In a section: hand the measurements to the runner, then exit (the IPC channel keeps it alive). */
export function sendResult(data) {
  process.send({ type: "result", data }, () => process.exit(0));
}
