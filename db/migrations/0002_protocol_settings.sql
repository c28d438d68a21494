CREATE TABLE "unbondings" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"idempotency_key" text NOT NULL,
	"address" text NOT NULL,
	"amount" numeric(38, 0) NOT NULL,
	"available_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'unbonding' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_at" timestamp with time zone,
	CONSTRAINT "unbondings_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "proposals" ADD COLUMN "budget" numeric(38, 0);--> statement-breakpoint
ALTER TABLE "proposals" ADD COLUMN "budget_reserved" numeric(38, 0);--> statement-breakpoint
CREATE INDEX "unbondings_address_idx" ON "unbondings" USING btree ("address","status");