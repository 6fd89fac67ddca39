CREATE TABLE "media" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"source" text NOT NULL,
	"name" text,
	"content_type" text NOT NULL,
	"storage_key" text NOT NULL,
	"preview_key" text,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"width" integer,
	"height" integer,
	"duration_seconds" real,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "media_kind_check" CHECK (kind in ('image', 'video', 'audio')),
	CONSTRAINT "media_source_check" CHECK (source in ('upload', 'url'))
);
--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_preview_url" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_duration_seconds" real;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_width" integer;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_height" integer;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_codec" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_size_bytes" bigint;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "output_sha256" text;--> statement-breakpoint
ALTER TABLE "generations" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "media" ADD CONSTRAINT "media_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "media_user_created_idx" ON "media" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "media_deleted_idx" ON "media" USING btree ("deleted_at") WHERE deleted_at is not null;--> statement-breakpoint
CREATE INDEX "generations_deleted_idx" ON "generations" USING btree ("deleted_at") WHERE deleted_at is not null;