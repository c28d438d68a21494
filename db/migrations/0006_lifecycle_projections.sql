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
CREATE TABLE "governance_snapshots" (
	"proposal_id" text PRIMARY KEY NOT NULL,
	"snapshot" jsonb NOT NULL,
	"total" numeric(38, 0) NOT NULL,
	"taken_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lifecycle_views" (
	"proposal_id" text PRIMARY KEY NOT NULL,
	"view" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
