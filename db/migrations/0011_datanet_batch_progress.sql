CREATE TABLE "datanet_batch_progress" (
	"datanet_id" text NOT NULL,
	"pass" text NOT NULL,
	"from_seq" bigint NOT NULL,
	"records" integer NOT NULL,
	"passed" integer NOT NULL,
	CONSTRAINT "datanet_batch_progress_datanet_id_pass_from_seq_pk" PRIMARY KEY("datanet_id","pass","from_seq")
);
--> statement-breakpoint
ALTER TABLE "datanets" ADD COLUMN "received" integer;