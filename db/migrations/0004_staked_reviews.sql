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
ALTER TABLE "review_tasks" ADD COLUMN "gold_answer" text;--> statement-breakpoint
ALTER TABLE "review_tasks" ADD COLUMN "assigned" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "review_assignments_reviewer_idx" ON "review_assignments" USING btree ("reviewer");--> statement-breakpoint
CREATE INDEX "review_round_reviewers_reviewer_idx" ON "review_round_reviewers" USING btree ("reviewer");