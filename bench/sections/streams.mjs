// Subscriptions: events per second through one `items.onChange` stream while writers create items
// as fast as the API takes them, and the API's memory per idle open stream.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startIssuer } from "@repo/issuer";
import { reportFailures, sendResult, startChild } from "../lib/child.mjs";
import { AUDIENCE } from "../lib/fixtures.mjs";
import { pick } from "../lib/options.mjs";
import { auth } from "../lib/repo-auth.mjs";

reportFailures();

const WRITE_S = pick(5, 1);
const WRITERS = 8;
const IDLE_STREAMS = pick(1_000, 100);

const keysDir = await mkdtemp(join(tmpdir(), "bench-streams-keys-"));
const issuer = await startIssuer({ port: 0, keysDir, quiet: true });
const bearer = async (clientId) =>
  `Bearer ${(await issuer.requestToken({ clientId })).access_token}`;
const reader = await bearer("dev-reader");
const writer = await bearer("dev-writer");

const trust = JSON.stringify({
  issuerBaseURL: issuer.issuer,
  audience: AUDIENCE,
  env: { MAX_STREAMS_PER_CLIENT: String(IDLE_STREAMS + 10) },
});
const child = startChild(fileURLToPath(new URL("../processes/api-server.mjs", import.meta.url)), {
  args: [trust],
  execArgv: ["--expose-gc"],
});
const { url } = await child.receive("ready");
const streamUrl = `${url}/trpc/items.onChange`;
const withToken = (token) => (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("authorization", token);
  return fetch(input, { ...init, headers });
};

async function metric(name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((entry) => entry.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

async function until(probe, what) {
  const deadline = Date.now() + 60_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** One stream, and WRITERS loops creating items for WRITE_S seconds. */
async function throughput() {
  const controller = new AbortController();
  let received = 0;
  let lastAt = 0;
  let connected;
  const isConnected = new Promise((resolve) => {
    connected = resolve;
  });
  const reading = (async () => {
    for await (const event of auth.readEventStream({
      url: streamUrl,
      fetch: withToken(reader),
      signal: controller.signal,
    })) {
      if (event.event === "connected") connected();
      if (event.event === "message" && event.data.includes('"created"')) {
        received += 1;
        lastAt = performance.now();
      }
    }
  })();
  await isConnected;

  let created = 0;
  const started = performance.now();
  const stopAt = started + WRITE_S * 1000;
  const write = async () => {
    while (performance.now() < stopAt) {
      const res = await fetch(`${url}/trpc/items.create`, {
        method: "POST",
        headers: { authorization: writer, "content-type": "application/json" },
        body: JSON.stringify({ name: `bench ${created}` }),
      });
      if (res.status !== 200) throw new Error(`items.create answered ${res.status}`);
      await res.arrayBuffer();
      created += 1;
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, write));
  const writtenAt = performance.now();
  await until(() => received >= created, "every change to arrive");
  controller.abort();
  await reading;
  if (received !== created) throw new Error(`${created} created but ${received} received`);
  const writeRate = created / ((writtenAt - started) / 1000);
  const deliveryRate = received / ((lastAt - started) / 1000);
  return { created, received, writeRate, deliveryRate, ratio: deliveryRate / writeRate };
}

async function memory() {
  const { usage } = await child.request({ type: "memory" }, "memory");
  return usage;
}

/** The API's memory before and with IDLE_STREAMS idle streams open. */
async function idleStreams() {
  const before = await memory();
  const controller = new AbortController();
  const responses = await Promise.all(
    Array.from({ length: IDLE_STREAMS }, () =>
      fetch(streamUrl, {
        headers: { authorization: reader, accept: "text/event-stream" },
        signal: controller.signal,
      }),
    ),
  );
  if (responses.some((res) => res.status !== 200)) throw new Error("a stream was refused");
  await until(async () => (await metric("api_open_streams")) === IDLE_STREAMS, "streams to open");
  const open = await memory();
  controller.abort();
  await until(async () => (await metric("api_open_streams")) === 0, "streams to close");
  return {
    streams: IDLE_STREAMS,
    before,
    open,
    heapPerStream: (open.heapAfterGc - before.heapAfterGc) / IDLE_STREAMS,
    rssPerStream: (open.rss - before.rss) / IDLE_STREAMS,
  };
}

let data;
try {
  data = { throughput: await throughput(), idle: await idleStreams() };
} finally {
  await child.stop();
  await issuer.close();
  await rm(keysDir, { recursive: true, force: true });
}
sendResult(data);
