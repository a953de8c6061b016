import type { Redis } from "ioredis";
import { settleWithin } from "./settle-within.js";

export interface RedisChangeFeedOptions {
  /** The store's command connection; the subscriber is a duplicate of it. */
  connection: () => Promise<Redis>;
  channel: string;
  /** Limit of connecting and subscribing, ms. */
  timeout: number;
  /** Called with the message of each announcement on `channel`. */
  onAnnouncement: (message: string) => void;
  /** Called when a subscriber that was listening goes away: announcements may have been lost. */
  onLost: () => void;
}

export interface RedisChangeFeed {
  /**
   * Resolves true once the subscriber listens (opening it on first use), false when it could not
   * within the timeout. Announcements published after it resolved true reach `onAnnouncement`.
   */
  listening(): Promise<boolean>;
  close(): void;
}

/**
 * The subscriber connection of one Redis store: a single connection and a single message handler
 * for all of the store's waiters, opened on the first wait. It never reconnects by itself: when it
 * drops, waiters are told to look again and the next wait opens a new one, so a Redis outage
 * leaves no reconnect timer behind. Its socket is unref'd: it never keeps a process alive.
 */
export function redisChangeFeed(options: RedisChangeFeedOptions): RedisChangeFeed {
  let subscriber: Promise<Redis | undefined> | undefined;
  let closed = false;

  const open = async (): Promise<Redis | undefined> => {
    let redis: Redis | undefined;
    try {
      redis = (await options.connection()).duplicate({
        lazyConnect: true,
        enableOfflineQueue: false,
        connectTimeout: options.timeout,
        retryStrategy: () => null,
      });
      const connection = redis;
      let listened = false;
      // Failures surface as a subscriber that is not listening; the store then re-reads on a timer.
      connection.on("error", () => {});
      connection.on("message", (channel: string, message: string) => {
        if (channel === options.channel) options.onAnnouncement(message);
      });
      connection.once("end", () => {
        if (!listened) return;
        subscriber = undefined;
        options.onLost();
      });
      await settleWithin(
        connection.connect().then(() => connection.subscribe(options.channel)),
        options.timeout,
        "redis subscribe",
      );
      if (closed) throw new Error("store closed");
      connection.stream.unref();
      listened = true;
      return connection;
    } catch {
      redis?.disconnect();
      subscriber = undefined;
      return undefined;
    }
  };

  return {
    async listening() {
      if (closed) return false;
      subscriber ??= open();
      return (await subscriber) !== undefined;
    },
    close() {
      closed = true;
      const current = subscriber;
      subscriber = undefined;
      void current?.then((redis) => redis?.disconnect());
    },
  };
}
