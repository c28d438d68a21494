CREATE TABLE "assessment_attempts" (
	"datanet_id" text NOT NULL,
	"contributor" text NOT NULL,
	"attempt" integer NOT NULL,
	"score" double precision NOT NULL,
	"request_signature" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "assessment_attempts_datanet_id_contributor_attempt_pk" PRIMARY KEY("datanet_id","contributor","attempt"),
	CONSTRAINT "assessment_attempts_request_signature_unique" UNIQUE("request_signature")
);
--> statement-breakpoint
CREATE TABLE "assessment_items" (
	"datanet_id" text NOT NULL,
	"idx" integer NOT NULL,
	"prompt" text NOT NULL,
	"choices" jsonb NOT NULL,
	"answer" text NOT NULL,
	CONSTRAINT "assessment_items_datanet_id_idx_pk" PRIMARY KEY("datanet_id","idx")
);
--> statement-breakpoint
CREATE TABLE "attestations" (
	"id" text PRIMARY KEY NOT NULL,
	"claim" text NOT NULL,
	"subject" text NOT NULL,
	"verifier" text NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"signature" text NOT NULL,
	"revoked_at" timestamp with time zone,
	"revocation_signature" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "curation_decisions" (
	"datanet_id" text NOT NULL,
	"hash" text NOT NULL,
	"decision" text NOT NULL,
	"reason" text NOT NULL,
	"curator" text NOT NULL,
	"auto_status" text,
	"decided_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "curation_decisions_datanet_id_hash_pk" PRIMARY KEY("datanet_id","hash")
);
--> statement-breakpoint
CREATE TABLE "datanet_curators" (
	"datanet_id" text NOT NULL,
	"curator" text NOT NULL,
	"added_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "datanet_curators_datanet_id_curator_pk" PRIMARY KEY("datanet_id","curator")
);
--> statement-breakpoint
ALTER TABLE "dataset_versions" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "dataset_versions" ADD COLUMN "cause" text;--> statement-breakpoint
CREATE INDEX "attestations_subject_idx" ON "attestations" USING btree ("subject","claim");