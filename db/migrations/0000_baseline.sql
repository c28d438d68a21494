CREATE TABLE "accounts" (
	"address" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"display_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "accounts_public_key_unique" UNIQUE("public_key")
);
--> statement-breakpoint
CREATE TABLE "activity_progress" (
	"workflow_id" text NOT NULL,
	"activity_id" text NOT NULL,
	"activity_type" text NOT NULL,
	"attempt" integer NOT NULL,
	"details" jsonb,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "activity_progress_workflow_id_activity_id_pk" PRIMARY KEY("workflow_id","activity_id")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"key_hash" text NOT NULL,
	"owner" text NOT NULL,
	"revoked" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_key_hash_unique" UNIQUE("key_hash")
);
--> statement-breakpoint
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
CREATE TABLE "attribution_weights" (
	"dataset_version_id" text NOT NULL,
	"contributor" text NOT NULL,
	"raw_score" double precision NOT NULL,
	"weight" double precision NOT NULL,
	"accepted" integer NOT NULL,
	"rejected" integer NOT NULL,
	CONSTRAINT "attribution_weights_dataset_version_id_contributor_pk" PRIMARY KEY("dataset_version_id","contributor")
);
--> statement-breakpoint
CREATE TABLE "balances" (
	"account" text NOT NULL,
	"asset" text NOT NULL,
	"amount" numeric(38, 0) DEFAULT '0' NOT NULL,
	CONSTRAINT "balances_account_asset_pk" PRIMARY KEY("account","asset"),
	CONSTRAINT "balances_non_negative" CHECK ("balances"."amount" >= 0 or "balances"."account" like 'issuer:%')
);
--> statement-breakpoint
CREATE TABLE "contributions" (
	"datanet_id" text NOT NULL,
	"hash" text NOT NULL,
	"contributor" text NOT NULL,
	"signature" text NOT NULL,
	"size" integer NOT NULL,
	"s3_key" text NOT NULL,
	"pack_offset" bigint NOT NULL,
	"pack_length" integer NOT NULL,
	"seq" bigserial NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"quality" double precision,
	"relevance" double precision,
	"reasons" jsonb,
	"duplicate_of" text,
	"sketch" "bytea",
	"label" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contributions_datanet_id_hash_pk" PRIMARY KEY("datanet_id","hash")
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
CREATE TABLE "datanet_batch_progress" (
	"datanet_id" text NOT NULL,
	"pass" text NOT NULL,
	"from_seq" bigint NOT NULL,
	"records" integer NOT NULL,
	"passed" integer NOT NULL,
	CONSTRAINT "datanet_batch_progress_datanet_id_pass_from_seq_pk" PRIMARY KEY("datanet_id","pass","from_seq")
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
CREATE TABLE "datanets" (
	"id" text PRIMARY KEY NOT NULL,
	"proposal_id" text NOT NULL,
	"spec" jsonb NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"target_count" integer NOT NULL,
	"closes_at" timestamp with time zone,
	"received" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dataset_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"datanet_id" text NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"cause" text,
	"proposal_id" text NOT NULL,
	"manifest_key" text NOT NULL,
	"merkle_root" text NOT NULL,
	"record_count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delegations" (
	"delegator" text PRIMARY KEY NOT NULL,
	"delegatee" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployment_identity" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployment_identity_singleton" CHECK ("deployment_identity"."singleton")
);
--> statement-breakpoint
CREATE TABLE "governance_snapshots" (
	"proposal_id" text PRIMARY KEY NOT NULL,
	"snapshot" jsonb NOT NULL,
	"total" numeric(38, 0) NOT NULL,
	"taken_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inference_calls" (
	"id" text PRIMARY KEY NOT NULL,
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"api_key_id" text NOT NULL,
	"payer" text NOT NULL,
	"fee" numeric(38, 0) NOT NULL,
	"attribution" jsonb NOT NULL,
	"settlement_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lifecycle_views" (
	"proposal_id" text PRIMARY KEY NOT NULL,
	"view" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lsh_band_claims" (
	"datanet_key" bigint NOT NULL,
	"part" smallint NOT NULL,
	"from_seq" bigint NOT NULL,
	"bands" bigint[] NOT NULL,
	"seqs" bigint[] NOT NULL,
	CONSTRAINT "lsh_band_claims_datanet_key_part_from_seq_pk" PRIMARY KEY("datanet_key","part","from_seq")
);
--> statement-breakpoint
CREATE TABLE "lsh_band_owners" (
	"datanet_key" bigint NOT NULL,
	"from_seq" bigint NOT NULL,
	"part" smallint NOT NULL,
	"bands" bigint[] NOT NULL,
	"owners" bigint[] NOT NULL,
	CONSTRAINT "lsh_band_owners_datanet_key_from_seq_part_pk" PRIMARY KEY("datanet_key","from_seq","part")
);
--> statement-breakpoint
CREATE TABLE "lsh_band_reductions" (
	"datanet_key" bigint NOT NULL,
	"part" smallint NOT NULL,
	"shared" integer NOT NULL,
	"reduced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lsh_band_reductions_datanet_key_part_pk" PRIMARY KEY("datanet_key","part")
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"proposal_id" text NOT NULL,
	"prefix" text NOT NULL,
	"artifact_key" text NOT NULL,
	"sha256" text NOT NULL,
	"dataset_version_id" text NOT NULL,
	"merkle_root" text NOT NULL,
	"lineage" jsonb NOT NULL,
	"metrics" jsonb NOT NULL,
	"status" text DEFAULT 'candidate' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_model_name_version_pk" PRIMARY KEY("model_name","version")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"name" text PRIMARY KEY NOT NULL,
	"developer" text NOT NULL,
	"proposal_id" text NOT NULL,
	"production_version" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "proposals" (
	"id" text PRIMARY KEY NOT NULL,
	"proposer" text NOT NULL,
	"model_name" text NOT NULL,
	"title" text NOT NULL,
	"description" text NOT NULL,
	"rationale" text DEFAULT '' NOT NULL,
	"domain" text NOT NULL,
	"labels" jsonb NOT NULL,
	"datanet_spec" jsonb NOT NULL,
	"params" jsonb NOT NULL,
	"stake" numeric(38, 0) NOT NULL,
	"budget" numeric(38, 0) NOT NULL,
	"budget_reserved" numeric(38, 0),
	"workflow_id" text NOT NULL,
	"stage" text DEFAULT 'proposed' NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"status_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_buckets" (
	"key" text PRIMARY KEY NOT NULL,
	"tokens" double precision NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "review_answers" (
	"task_id" text NOT NULL,
	"reviewer" text NOT NULL,
	"choice" text NOT NULL,
	"weight" numeric(38, 0) NOT NULL,
	"agreed" boolean,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_answers_task_id_reviewer_pk" PRIMARY KEY("task_id","reviewer")
);
--> statement-breakpoint
CREATE TABLE "review_assignments" (
	"task_id" text NOT NULL,
	"reviewer" text NOT NULL,
	"extension" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_assignments_task_id_reviewer_pk" PRIMARY KEY("task_id","reviewer")
);
--> statement-breakpoint
CREATE TABLE "review_enlistments" (
	"proposal_id" text NOT NULL,
	"reviewer" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_enlistments_proposal_id_reviewer_pk" PRIMARY KEY("proposal_id","reviewer")
);
--> statement-breakpoint
CREATE TABLE "review_round_reviewers" (
	"proposal_id" text NOT NULL,
	"round" integer NOT NULL,
	"reviewer" text NOT NULL,
	"stake" numeric(38, 0) NOT NULL,
	"assigned" integer NOT NULL,
	"answered" integer NOT NULL,
	"resolved" integer NOT NULL,
	"agreed" integer NOT NULL,
	"disagreed" integer NOT NULL,
	"gold_correct" integer NOT NULL,
	"gold_answered" integer NOT NULL,
	"gold_accuracy" double precision NOT NULL,
	"paused" boolean NOT NULL,
	"alpha" double precision,
	"reward" numeric(38, 0) NOT NULL,
	"penalty" numeric(38, 0) NOT NULL,
	"settled_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "review_round_reviewers_proposal_id_round_reviewer_pk" PRIMARY KEY("proposal_id","round","reviewer")
);
--> statement-breakpoint
CREATE TABLE "review_tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"proposal_id" text NOT NULL,
	"round" integer NOT NULL,
	"workflow_id" text NOT NULL,
	"prompt" text NOT NULL,
	"candidates" jsonb NOT NULL,
	"required_answers" integer NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"consensus" text,
	"gold_answer" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rlhf_rounds" (
	"proposal_id" text NOT NULL,
	"round" integer NOT NULL,
	"status" text NOT NULL,
	"artifact_key" text,
	"metrics" jsonb,
	"summary" jsonb,
	CONSTRAINT "rlhf_rounds_proposal_id_round_pk" PRIMARY KEY("proposal_id","round")
);
--> statement-breakpoint
CREATE TABLE "tallies" (
	"proposal_id" text PRIMARY KEY NOT NULL,
	"yes" numeric(38, 0) NOT NULL,
	"no" numeric(38, 0) NOT NULL,
	"abstain" numeric(38, 0) NOT NULL,
	"veto" numeric(38, 0) NOT NULL,
	"total_power" numeric(38, 0) NOT NULL,
	"outcome" text NOT NULL,
	"closed_early" boolean DEFAULT false NOT NULL,
	"closed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "training_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"proposal_id" text NOT NULL,
	"kind" text NOT NULL,
	"trainer" text NOT NULL,
	"status" text NOT NULL,
	"artifact_key" text,
	"sha256" text,
	"metrics" jsonb,
	"steps" integer,
	"resumed_from_step" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "transfers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"idempotency_key" text NOT NULL,
	"asset" text NOT NULL,
	"from_account" text NOT NULL,
	"to_account" text NOT NULL,
	"amount" numeric(38, 0) NOT NULL,
	"reason" text NOT NULL,
	"proposal_id" text,
	"memo" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transfers_idempotency_key_unique" UNIQUE("idempotency_key"),
	CONSTRAINT "transfers_positive" CHECK ("transfers"."amount" > 0)
);
--> statement-breakpoint
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
CREATE TABLE "used_signatures" (
	"signature" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "votes" (
	"proposal_id" text NOT NULL,
	"voter" text NOT NULL,
	"option" text NOT NULL,
	"power" numeric(38, 0) NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "votes_proposal_id_voter_pk" PRIMARY KEY("proposal_id","voter")
);
--> statement-breakpoint
CREATE INDEX "attestations_subject_idx" ON "attestations" USING btree ("subject","claim");--> statement-breakpoint
CREATE INDEX "contributions_seq_idx" ON "contributions" USING btree ("datanet_id","seq");--> statement-breakpoint
CREATE INDEX "contributions_contributor_idx" ON "contributions" USING btree ("contributor");--> statement-breakpoint
CREATE INDEX "review_assignments_reviewer_idx" ON "review_assignments" USING btree ("reviewer");--> statement-breakpoint
CREATE INDEX "review_round_reviewers_reviewer_idx" ON "review_round_reviewers" USING btree ("reviewer");--> statement-breakpoint
CREATE INDEX "review_tasks_status_idx" ON "review_tasks" USING btree ("status");--> statement-breakpoint
CREATE INDEX "transfers_to_idx" ON "transfers" USING btree ("to_account");--> statement-breakpoint
CREATE INDEX "transfers_from_idx" ON "transfers" USING btree ("from_account");--> statement-breakpoint
CREATE INDEX "transfers_proposal_idx" ON "transfers" USING btree ("proposal_id");--> statement-breakpoint
CREATE INDEX "unbondings_address_idx" ON "unbondings" USING btree ("address","status");--> statement-breakpoint
-- Written by hand: drizzle-kit does not generate storage parameters. Room on each heap page for the
-- scoring and dedupe passes' new row versions, so both updates are HOT (heap-only: neither changes an
-- indexed column) instead of adding an entry to each index per record per pass. A stored row is ~410
-- bytes and ~620 once scored: at fillfactor 35 a page takes 6 rows at ingest, which leaves room for
-- their scored versions and, once the dead ones are pruned, for the dedupe pass's.
ALTER TABLE "contributions" SET (fillfactor = 35);
