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
	"legacy" boolean NOT NULL,
	"reduced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "lsh_band_reductions_datanet_key_part_pk" PRIMARY KEY("datanet_key","part")
);
