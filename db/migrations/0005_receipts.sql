ALTER TABLE "inference_calls" ADD COLUMN "records" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "inference_calls" ADD COLUMN "splits" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "inference_calls" ADD COLUMN "input_hash" text;--> statement-breakpoint
ALTER TABLE "inference_calls" ADD COLUMN "end_user" text;