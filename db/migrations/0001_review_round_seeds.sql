CREATE TABLE "review_round_seeds" (
	"proposal_id" text NOT NULL,
	"round" integer NOT NULL,
	"secret" text NOT NULL,
	"commitment" text NOT NULL,
	"committed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"pool" jsonb,
	"seed" text,
	"drawn_at" timestamp with time zone,
	"revealed_at" timestamp with time zone,
	CONSTRAINT "review_round_seeds_proposal_id_round_pk" PRIMARY KEY("proposal_id","round")
);
