CREATE TABLE "datanet_keys" (
	"datanet_id" text PRIMARY KEY NOT NULL,
	"public_key" "bytea" NOT NULL,
	"wrapped_private_key" "bytea" NOT NULL,
	"kek_id" text NOT NULL,
	"kek_version" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rewrapped_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "record_access_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"datanet_id" text NOT NULL,
	"record_hash" text NOT NULL,
	"contributor" text NOT NULL,
	"actor" text NOT NULL,
	"purpose" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "record_erasures" (
	"datanet_id" text NOT NULL,
	"hash" text NOT NULL,
	"contributor" text NOT NULL,
	"erased_by" text NOT NULL,
	"erased_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "record_erasures_datanet_id_hash_pk" PRIMARY KEY("datanet_id","hash")
);
--> statement-breakpoint
CREATE TABLE "record_keys" (
	"datanet_id" text NOT NULL,
	"hash" text NOT NULL,
	"sealed_key" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "record_keys_datanet_id_hash_pk" PRIMARY KEY("datanet_id","hash")
);
--> statement-breakpoint
CREATE INDEX "record_access_log_contributor_idx" ON "record_access_log" USING btree ("contributor","id");--> statement-breakpoint
CREATE INDEX "record_access_log_datanet_idx" ON "record_access_log" USING btree ("datanet_id","id");--> statement-breakpoint
CREATE INDEX "record_access_log_record_idx" ON "record_access_log" USING btree ("datanet_id","record_hash");--> statement-breakpoint
CREATE INDEX "record_erasures_contributor_idx" ON "record_erasures" USING btree ("contributor");