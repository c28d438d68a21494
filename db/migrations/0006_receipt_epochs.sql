CREATE TABLE "receipt_epochs" (
	"model_name" text NOT NULL,
	"epoch" integer NOT NULL,
	"root" text NOT NULL,
	"size" integer NOT NULL,
	"closed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "receipt_epochs_model_name_epoch_pk" PRIMARY KEY("model_name","epoch")
);
--> statement-breakpoint
ALTER TABLE "inference_calls" ADD COLUMN "epoch" integer;--> statement-breakpoint
ALTER TABLE "inference_calls" ADD COLUMN "leaf" text;--> statement-breakpoint
CREATE INDEX "inference_calls_epoch" ON "inference_calls" USING btree ("model_name","epoch");--> statement-breakpoint
-- A receipt is immutable once its epoch has closed (its epoch is set in the transaction that
-- stores the epoch's root): any later UPDATE or DELETE of the row is refused, so a call never
-- moves to a second epoch and its committed content never changes. Only a superuser disabling
-- the trigger can edit it, and then its leaf no longer verifies against the published root.
CREATE FUNCTION "receipt_is_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.epoch IS NOT NULL THEN
    RAISE EXCEPTION 'receipt % of % is committed in closed epoch % and cannot change', OLD.id, OLD.model_name, OLD.epoch
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "inference_calls_immutable_after_close" BEFORE UPDATE OR DELETE ON "inference_calls"
  FOR EACH ROW EXECUTE FUNCTION "receipt_is_immutable"();--> statement-breakpoint
CREATE FUNCTION "receipt_epoch_is_immutable"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the receipt root of epoch % of % is published and cannot change', OLD.epoch, OLD.model_name
    USING ERRCODE = 'integrity_constraint_violation';
END
$$;--> statement-breakpoint
CREATE TRIGGER "receipt_epochs_immutable" BEFORE UPDATE OR DELETE ON "receipt_epochs"
  FOR EACH ROW EXECUTE FUNCTION "receipt_epoch_is_immutable"();
