CREATE TABLE "deployment_identity" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deployment_identity_singleton" CHECK ("deployment_identity"."singleton")
);
