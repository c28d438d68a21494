CREATE TABLE "training_epochs" (
	"run_id" text NOT NULL,
	"proposal_id" text NOT NULL,
	"epoch" integer NOT NULL,
	"step" integer NOT NULL,
	"loss" double precision NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "training_epochs_run_id_epoch_pk" PRIMARY KEY("run_id","epoch")
);
--> statement-breakpoint
CREATE INDEX "training_epochs_proposal" ON "training_epochs" USING btree ("proposal_id");--> statement-breakpoint
CREATE INDEX "inference_calls_version_latest" ON "inference_calls" USING btree ("model_name","version","created_at");