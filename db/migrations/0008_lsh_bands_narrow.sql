-- lsh_bands only holds band owners while a Datanet is scored (derived data, rebuilt by its scoring
-- pass), so the old text-keyed rows are dropped with the old layout rather than converted.
DROP TABLE "lsh_bands";--> statement-breakpoint
CREATE TABLE "lsh_bands" (
	"datanet_key" bigint NOT NULL,
	"band" bigint NOT NULL,
	"seq" bigint NOT NULL,
	"shared" boolean DEFAULT false NOT NULL,
	CONSTRAINT "lsh_bands_datanet_key_band_pk" PRIMARY KEY("datanet_key","band")
);--> statement-breakpoint
CREATE INDEX "lsh_bands_shared_idx" ON "lsh_bands" USING btree ("datanet_key","band") WHERE shared;
