CREATE TABLE "generations" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"model_id" text NOT NULL,
	"mode" text NOT NULL,
	"prompt" text NOT NULL,
	"negative_prompt" text,
	"duration_seconds" integer NOT NULL,
	"resolution" text NOT NULL,
	"aspect_ratio" text NOT NULL,
	"audio" boolean NOT NULL,
	"seed" integer,
	"references" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"price_credits" integer NOT NULL,
	"failure_code" text,
	"failure_message" text,
	"failure_detail" text,
	"refunded" boolean DEFAULT false NOT NULL,
	"provider" text,
	"upstream_model" text,
	"upstream_id" text,
	"callback_key" text,
	"outcome_unknown_since" timestamp with time zone,
	"route_attempts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"dispatch_attempts" integer DEFAULT 0 NOT NULL,
	"next_poll_at" timestamp with time zone,
	"poll_count" integer DEFAULT 0 NOT NULL,
	"output_url" text,
	"output_thumbnail_url" text,
	"output_content_type" text,
	"idempotency_key" text,
	"request_hash" text,
	"source" text DEFAULT 'web' NOT NULL,
	"deadline_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "generations_status_check" CHECK (status in ('queued', 'submitting', 'running', 'finalizing', 'succeeded', 'failed', 'canceled', 'blocked')),
	CONSTRAINT "generations_progress_check" CHECK ("generations"."progress" between 0 and 100),
	CONSTRAINT "generations_price_check" CHECK ("generations"."price_credits" >= 0)
);
--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD COLUMN "held_delta" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "generations_user_created_idx" ON "generations" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "generations_user_idempotency_idx" ON "generations" USING btree ("user_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "generations_callback_idx" ON "generations" USING btree ("provider","callback_key");--> statement-breakpoint
CREATE INDEX "generations_poll_idx" ON "generations" USING btree ("next_poll_at") WHERE status in ('submitting', 'running', 'finalizing');--> statement-breakpoint
CREATE INDEX "generations_active_idx" ON "generations" USING btree ("status","updated_at") WHERE status in ('queued', 'submitting', 'running', 'finalizing');