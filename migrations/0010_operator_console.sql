-- Operator console (issue 18): the append-only audit log, settings kept in the database, the dashboard's hourly aggregates, generation callbacks, model order, console re-authentication.
CREATE TABLE "app_settings" (
	"key" text PRIMARY KEY NOT NULL,
	"sealed_value" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor_id" text,
	"actor_label" text NOT NULL,
	"actor_role" text,
	"via" text NOT NULL,
	"ip" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"reason" text,
	"before" jsonb,
	"after" jsonb,
	CONSTRAINT "audit_log_via_check" CHECK (via in ('console', 'cli', 'system'))
);
--> statement-breakpoint
CREATE TABLE "generation_callbacks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"generation_id" text NOT NULL,
	"provider" text NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"state" text,
	"outcome" text NOT NULL,
	"detail" text
);
--> statement-breakpoint
CREATE TABLE "stats_hourly" (
	"metric" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"dim1" text DEFAULT '' NOT NULL,
	"dim2" text DEFAULT '' NOT NULL,
	"count" bigint DEFAULT 0 NOT NULL,
	"total" bigint DEFAULT 0 NOT NULL,
	"ok" bigint DEFAULT 0 NOT NULL,
	"histogram" integer[],
	CONSTRAINT "stats_hourly_metric_hour_dim1_dim2_pk" PRIMARY KEY("metric","hour","dim1","dim2")
);
--> statement-breakpoint
CREATE TABLE "stats_rollup_state" (
	"name" text PRIMARY KEY NOT NULL,
	"computed_through" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "generation_callbacks" ADD CONSTRAINT "generation_callbacks_generation_id_generations_id_fk" FOREIGN KEY ("generation_id") REFERENCES "public"."generations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("at","id");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_target_idx" ON "audit_log" USING btree ("target_type","target_id","at");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "audit_log" USING btree ("action","at");--> statement-breakpoint
CREATE INDEX "generation_callbacks_generation_idx" ON "generation_callbacks" USING btree ("generation_id","received_at");--> statement-breakpoint
CREATE INDEX "stats_hourly_hour_idx" ON "stats_hourly" USING btree ("hour");--> statement-breakpoint
ALTER TABLE "model_settings" ADD COLUMN "position" integer;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "reauthenticated_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "generations_finished_idx" ON "generations" USING btree ("finished_at") WHERE finished_at is not null;--> statement-breakpoint
CREATE INDEX "credit_ledger_created_idx" ON "credit_ledger" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "orders_created_idx" ON "orders" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "payment_events_order_idx" ON "payment_events" USING btree ("order_id") WHERE order_id is not null;--> statement-breakpoint
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- only the retention job deletes (entries past AUDIT_LOG_RETENTION_DAYS), and it says so first in its transaction
  IF TG_OP = 'DELETE' AND current_setting('savesora.audit_retention', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "audit_log" FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
