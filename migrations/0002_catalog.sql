CREATE TABLE "model_settings" (
	"model_id" text PRIMARY KEY NOT NULL,
	"enabled" boolean,
	"price" jsonb,
	"lifecycle" jsonb,
	"route_order" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "route_health" (
	"model_id" text NOT NULL,
	"provider" text NOT NULL,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"unhealthy_until" timestamp with time zone,
	"last_error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "route_health_model_id_provider_pk" PRIMARY KEY("model_id","provider")
);
