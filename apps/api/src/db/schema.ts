import { sql } from "drizzle-orm";
import {
  bigint,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * Items. `seq` orders them (oldest first) and is what a list cursor points at; `id` is the public
 * identifier. Every row records who created it from the verified token: `created_by` (the `sub`),
 * `client_id` (`azp`/`client_id`, or the `sub` when the token names no client) and `token_id`
 * (the `jti`, when the token has one).
 */
export const items = pgTable(
  "items",
  {
    seq: bigint("seq", { mode: "bigint" }).primaryKey().generatedAlwaysAsIdentity(),
    id: uuid("id").notNull().unique().default(sql`gen_random_uuid()`),
    name: text("name").notNull(),
    createdBy: text("created_by").notNull(),
    clientId: text("client_id").notNull(),
    tokenId: text("token_id"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (table) => [index("items_client_id_idx").on(table.clientId)],
);

export type ItemRow = typeof items.$inferSelect;

/**
 * The first result of each idempotent mutation: one row per (client, `Idempotency-Key`), written in
 * the transaction of the change itself, so a change and its key commit together or not at all.
 * `request_hash` is the procedure and input the key was first used with.
 */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    clientId: text("client_id").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    response: jsonb("response"),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.clientId, table.key] }),
    index("idempotency_keys_created_at_idx").on(table.createdAt),
  ],
);

/**
 * The audit trail, append-only (a trigger refuses UPDATE and DELETE): one row per item change and
 * per refused or failed call of a protected procedure. Who (`sub`), which client, which token
 * (`jti`), which procedure, when and the outcome; never the token itself.
 */
export const auditEvents = pgTable(
  "audit_events",
  {
    seq: bigint("seq", { mode: "bigint" }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    requestId: text("request_id"),
    procedure: text("procedure").notNull(),
    status: integer("status").notNull(),
    outcome: text("outcome").notNull(),
    sub: text("sub"),
    clientId: text("client_id"),
    tokenId: text("token_id"),
    itemId: uuid("item_id"),
    authError: text("auth_error"),
  },
  (table) => [index("audit_events_client_id_idx").on(table.clientId)],
);
