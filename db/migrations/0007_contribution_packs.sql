ALTER TABLE "lsh_bands" ALTER COLUMN "hash" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "contributions" ADD COLUMN "pack_offset" bigint;--> statement-breakpoint
ALTER TABLE "contributions" ADD COLUMN "pack_length" integer;