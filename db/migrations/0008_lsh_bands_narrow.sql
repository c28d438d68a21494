-- lsh_bands keyed by an integer Datanet key (the first 64 bits of SHA-256 of its id, as
-- db/queries/lsh-bands.ts lshDatanetKey computes it) with a `shared` flag. Rows of Datanets still
-- being scored (no dataset version yet) are carried over, marked shared so the dedupe pass looks
-- them all up as before; rows of finished Datanets are derived data nothing reads any more.
ALTER TABLE "lsh_bands" RENAME TO "lsh_bands_old";--> statement-breakpoint
CREATE TABLE "lsh_bands" (
	"datanet_key" bigint NOT NULL,
	"band" bigint NOT NULL,
	"seq" bigint NOT NULL,
	"shared" boolean DEFAULT false NOT NULL,
	CONSTRAINT "lsh_bands_datanet_key_band_pk" PRIMARY KEY("datanet_key","band")
);--> statement-breakpoint
CREATE INDEX "lsh_bands_shared_idx" ON "lsh_bands" USING btree ("datanet_key","band") WHERE shared;--> statement-breakpoint
INSERT INTO "lsh_bands" ("datanet_key", "band", "seq", "shared")
	SELECT ('x' || encode(substring(sha256(convert_to(o."datanet_id", 'UTF8')) from 1 for 8), 'hex'))::bit(64)::bigint, o."band", o."seq", true
	FROM "lsh_bands_old" o
	WHERE NOT EXISTS (SELECT 1 FROM "dataset_versions" v WHERE v."datanet_id" = o."datanet_id");--> statement-breakpoint
DROP TABLE "lsh_bands_old";
