CREATE TABLE "receipt_parties" (
	"account" text NOT NULL,
	"call_id" text NOT NULL,
	CONSTRAINT "receipt_parties_account_call_id_pk" PRIMARY KEY("account","call_id")
);
--> statement-breakpoint
ALTER TABLE "receipt_parties" ADD CONSTRAINT "receipt_parties_call_id_inference_calls_id_fk" FOREIGN KEY ("call_id") REFERENCES "public"."inference_calls"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Calls already given an epoch: the accounts their receipts name (as receiptParties in
-- domain/serving/receipts.ts: attributed contributors and split recipients).
INSERT INTO "receipt_parties" ("account", "call_id")
SELECT DISTINCT p.account, c.id
FROM "inference_calls" c
CROSS JOIN LATERAL (
  SELECT a->>'contributor' AS account
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.attribution) = 'array' THEN c.attribution ELSE '[]'::jsonb END) a
  UNION
  SELECT s->>'to' FROM jsonb_array_elements(c.splits) s
) p
WHERE c.epoch IS NOT NULL AND p.account IS NOT NULL
ON CONFLICT DO NOTHING;
