CREATE TABLE "legal_holds" (
	"id" text PRIMARY KEY NOT NULL,
	"subject_kind" text NOT NULL,
	"subject_id" text NOT NULL,
	"reason" text NOT NULL,
	"case_id" text,
	"placed_by" text,
	"placed_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"released_at" timestamp with time zone,
	"released_by" text,
	"release_reason" text,
	CONSTRAINT "legal_holds_subject_check" CHECK (subject_kind in ('user', 'generation', 'media', 'case'))
);
--> statement-breakpoint
CREATE TABLE "moderation_cases" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text,
	"subject" text NOT NULL,
	"generation_id" text,
	"media_id" text,
	"status" text DEFAULT 'open' NOT NULL,
	"severity" real DEFAULT 0 NOT NULL,
	"top_category" text,
	"action" text DEFAULT 'flag' NOT NULL,
	"outcome" text,
	"appealed_at" timestamp with time zone,
	"appeal_text" text,
	"appeal_answered" boolean DEFAULT false NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "moderation_cases_subject_check" CHECK (subject in ('prompt', 'reference', 'output', 'report', 'account')),
	CONSTRAINT "moderation_cases_status_check" CHECK (status in ('open', 'closed')),
	CONSTRAINT "moderation_cases_outcome_check" CHECK (outcome is null or outcome in ('allowed', 'removed', 'removed_strike', 'suspended', 'terminated', 'csam_reported', 'blocked'))
);
--> statement-breakpoint
CREATE TABLE "moderation_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"kind" text NOT NULL,
	"input" text,
	"source" text,
	"action" text,
	"scores" jsonb,
	"reasons" jsonb,
	"actor_id" text,
	"note" text,
	"details" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "moderation_events_kind_check" CHECK (kind in ('classifier', 'hash_match', 'provider_refusal', 'report', 'decision', 'appeal', 'ncmec', 'hold'))
);
--> statement-breakpoint
CREATE TABLE "moderation_evidence" (
	"id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"input" text NOT NULL,
	"text" text,
	"storage_key" text,
	"content_type" text,
	"size_bytes" bigint,
	"sha256" text,
	"pdq" text,
	"generation_id" text,
	"media_id" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "moderation_hash_lists" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"pdq_threshold" integer DEFAULT 31 NOT NULL,
	"entry_count" integer DEFAULT 0 NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "moderation_hashes" (
	"list_id" text NOT NULL,
	"kind" text NOT NULL,
	"hash" text NOT NULL,
	"label" text,
	CONSTRAINT "moderation_hashes_list_id_kind_hash_pk" PRIMARY KEY("list_id","kind","hash")
);
--> statement-breakpoint
CREATE TABLE "moderation_strikes" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"case_id" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "moderation_term_edits" (
	"id" text PRIMARY KEY NOT NULL,
	"op" text NOT NULL,
	"list" text NOT NULL,
	"language" text NOT NULL,
	"term" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "moderation_term_edits_op_check" CHECK (op in ('add', 'remove'))
);
--> statement-breakpoint
CREATE TABLE "ncmec_reports" (
	"id" text PRIMARY KEY NOT NULL,
	"case_id" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"environment" text NOT NULL,
	"report_id" text,
	"progress" jsonb,
	"payload" jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_by" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "ncmec_reports_status_check" CHECK (status in ('queued', 'submitting', 'submitted', 'failed', 'retracted'))
);
--> statement-breakpoint
ALTER TABLE "generations" DROP CONSTRAINT "generations_status_check";--> statement-breakpoint
ALTER TABLE "generations" ADD CONSTRAINT "generations_status_check" CHECK (status in ('queued', 'submitting', 'running', 'finalizing', 'succeeded', 'failed', 'canceled', 'blocked', 'under_review'));--> statement-breakpoint
ALTER TABLE "moderation_cases" ADD CONSTRAINT "moderation_cases_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_events" ADD CONSTRAINT "moderation_events_case_id_moderation_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."moderation_cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_evidence" ADD CONSTRAINT "moderation_evidence_case_id_moderation_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."moderation_cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_hashes" ADD CONSTRAINT "moderation_hashes_list_id_moderation_hash_lists_id_fk" FOREIGN KEY ("list_id") REFERENCES "public"."moderation_hash_lists"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_strikes" ADD CONSTRAINT "moderation_strikes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "moderation_strikes" ADD CONSTRAINT "moderation_strikes_case_id_moderation_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."moderation_cases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ncmec_reports" ADD CONSTRAINT "ncmec_reports_case_id_moderation_cases_id_fk" FOREIGN KEY ("case_id") REFERENCES "public"."moderation_cases"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "legal_holds_subject_idx" ON "legal_holds" USING btree ("subject_kind","subject_id");--> statement-breakpoint
CREATE INDEX "legal_holds_case_idx" ON "legal_holds" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "moderation_cases_queue_idx" ON "moderation_cases" USING btree ("status","severity","opened_at");--> statement-breakpoint
CREATE INDEX "moderation_cases_user_idx" ON "moderation_cases" USING btree ("user_id","opened_at");--> statement-breakpoint
CREATE INDEX "moderation_cases_generation_idx" ON "moderation_cases" USING btree ("generation_id");--> statement-breakpoint
CREATE INDEX "moderation_cases_media_idx" ON "moderation_cases" USING btree ("media_id");--> statement-breakpoint
CREATE INDEX "moderation_events_case_idx" ON "moderation_events" USING btree ("case_id","id");--> statement-breakpoint
CREATE INDEX "moderation_evidence_case_idx" ON "moderation_evidence" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "moderation_evidence_key_idx" ON "moderation_evidence" USING btree ("storage_key");--> statement-breakpoint
CREATE UNIQUE INDEX "moderation_hash_lists_name_key" ON "moderation_hash_lists" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "moderation_strikes_case_key" ON "moderation_strikes" USING btree ("case_id");--> statement-breakpoint
CREATE INDEX "moderation_strikes_user_idx" ON "moderation_strikes" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "moderation_term_edits_key" ON "moderation_term_edits" USING btree ("op","list","language","term");--> statement-breakpoint
CREATE UNIQUE INDEX "ncmec_reports_case_key" ON "ncmec_reports" USING btree ("case_id");