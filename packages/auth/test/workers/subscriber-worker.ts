// A process that makes a Redis store open its subscriber (one wait, woken by a lock release),
// then closes only the connection it handed the store, never the store: it must still exit.
import { Redis } from "ioredis";
import { redisStore } from "../../src/token-client/redis-store.js";

const { REDIS_URL, PREFIX } = process.env;
const own = new Redis(REDIS_URL ?? "");
const store = redisStore({ client: own, prefix: PREFIX });

const lock = await store.lock("key", 60_000);
const woken = store.waitForChange?.("key", new AbortController().signal);
await lock?.release();
await woken;
const [, subscribers] = (await own.pubsub("NUMSUB", `${PREFIX}changed`)) as [string, number];
own.disconnect();
process.stdout.write(`woken, subscribed: ${subscribers}\n`);
