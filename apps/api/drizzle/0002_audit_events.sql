CREATE TABLE "audit_events" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"request_id" text,
	"procedure" text NOT NULL,
	"status" integer NOT NULL,
	"outcome" text NOT NULL,
	"sub" text,
	"client_id" text,
	"token_id" text,
	"item_id" uuid,
	"auth_error" text
);
--> statement-breakpoint
CREATE INDEX "audit_events_client_id_idx" ON "audit_events" USING btree ("client_id");