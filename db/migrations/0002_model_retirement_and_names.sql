CREATE TABLE "model_names" (
	"name" text PRIMARY KEY NOT NULL,
	"developer" text NOT NULL,
	"proposal_id" text NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "status" text DEFAULT 'serving' NOT NULL;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "retired_version" integer;--> statement-breakpoint
-- A 1.0 model without a production version was retired; its latest version is what a restore serves.
UPDATE "models" m SET "status" = 'retired', "retired_version" = (SELECT max(v."version") FROM "model_versions" v WHERE v."model_name" = m."name" AND v."status" = 'retired') WHERE m."production_version" IS NULL;--> statement-breakpoint
-- In a serving model, 1.0 marked earlier production versions `retired`: they are `superseded` (still served by version).
UPDATE "model_versions" v SET "status" = 'superseded' FROM "models" m WHERE m."name" = v."model_name" AND m."status" = 'serving' AND v."status" = 'retired';--> statement-breakpoint
-- Names already in use belong to the model's developer, else to the first live proposal's.
INSERT INTO "model_names" ("name", "developer", "proposal_id") SELECT "name", "developer", "proposal_id" FROM "models";--> statement-breakpoint
INSERT INTO "model_names" ("name", "developer", "proposal_id") SELECT DISTINCT ON ("model_name") "model_name", "proposer", "id" FROM "proposals" WHERE "status" IN ('running', 'serving') ORDER BY "model_name", "created_at" ON CONFLICT ("name") DO NOTHING;
