import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle as drizzleNodePg, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { migrate as migrateNodePg } from "drizzle-orm/node-postgres/migrator";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import pg from "pg";
import * as schema from "./schema.js";

/** A drizzle handle on the API's tables: the database itself or an open transaction. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The migrations drizzle-kit generated (apps/api/drizzle), shipped beside `src` and `dist`. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** Where the embedded database keeps its files when `DATA_DIR` is not set: apps/api/.data. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL("../../.data", import.meta.url));

export interface DatabaseOptions {
  /** A Postgres connection string; unset → embedded PGlite in `dataDir`. */
  url?: string | undefined;
  /** PGlite's data directory, or `memory://` for a database that lives as long as the process. */
  dataDir?: string | undefined;
  /** Most connections to Postgres at once. Default 10. */
  poolSize?: number;
  /** Seconds a statement may run before Postgres cancels it; 0 = no limit. Default 5. */
  statementTimeout?: number;
}

/** An open database with the schema migrated. */
export interface Database {
  kind: "postgres" | "pglite";
  db: Db;
  /** Whether the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Waits for running queries, then closes every connection (or PGlite's files). */
  close(): Promise<void>;
}

// Any constant shared by every instance: only one of them migrates at a time.
const MIGRATION_LOCK = 4_181_018;

/**
 * Opens the database and applies pending migrations: Postgres through a `pg` pool when `url` is
 * set, otherwise PGlite in `dataDir` (default apps/api/.data).
 *
 * @example
 * const database = await openDatabase({ dataDir: "memory://" });
 * await database.close();
 */
export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  return options.url === undefined ? openPglite(options) : openPostgres(options.url, options);
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  const client = new PGlite(options.dataDir ?? DEFAULT_DATA_DIR);
  const db = drizzlePglite({ client, schema });
  try {
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (error) {
    await client.close();
    throw error;
  }
  return {
    kind: "pglite",
    db: db as unknown as Db,
    ping: (timeoutMs) => answers(client.query("select 1"), timeoutMs),
    close: () => client.close(),
  };
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const statementTimeout = Math.round((options.statementTimeout ?? 5) * 1000);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    statement_timeout: statementTimeout > 0 ? statementTimeout : undefined,
    connectionTimeoutMillis: 5000,
  });
  // A connection the server drops emits `error`: on the pool while idle (the pool replaces it),
  // on the client while checked out (its query fails and the procedure answers 503). Unheard, either
  // would end the process.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    await migrateLocked(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  const db = drizzleNodePg({ client: pool, schema });
  let ended = false;
  return {
    kind: "postgres",
    db: db as unknown as Db,
    ping: (timeoutMs) =>
      ended ? Promise.resolve(false) : answers(pool.query("select 1"), timeoutMs),
    close: () => {
      ended = true;
      return pool.end();
    },
  };
}

// Instances starting together against one Postgres would race to create the same tables.
async function migrateLocked(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    const db = drizzleNodePg({ client, schema }) as unknown as NodePgDatabase<typeof schema>;
    await db.execute(sql`select pg_advisory_lock(${MIGRATION_LOCK})`);
    try {
      await migrateNodePg(db, { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await db.execute(sql`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    }
  } finally {
    client.release();
  }
}

function answers(query: Promise<unknown>, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  return Promise.race([
    query.then(
      () => true,
      () => false,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}
