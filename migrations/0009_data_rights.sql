-- Data rights and retention (issue 17): exports, account deletions, privacy requests, published legal documents, mailings, retention runs; pseudonyms on what a deletion keeps.
CREATE TABLE "account_deletions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text,
	"subject_ref" text NOT NULL,
	"status" text NOT NULL,
	"origin" text NOT NULL,
	"actor_id" text,
	"reason" text,
	"requested_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"canceled_at" timestamp with time zone,
	"removed" jsonb,
	"kept" jsonb,
	"last_error" text,
	CONSTRAINT "account_deletions_status_check" CHECK (status in ('scheduled', 'running', 'completed', 'closed', 'canceled')),
	CONSTRAINT "account_deletions_origin_check" CHECK (origin in ('self', 'operator', 'child-report'))
);--> statement-breakpoint
CREATE TABLE "data_exports" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"requested_by" text,
	"storage_key" text,
	"size_bytes" bigint,
	"contents" jsonb,
	"error" text,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	CONSTRAINT "data_exports_status_check" CHECK (status in ('queued', 'building', 'ready', 'failed', 'expired'))
);--> statement-breakpoint
CREATE TABLE "mailing_recipients" (
	"mailing_id" text NOT NULL,
	"user_id" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"sent_at" timestamp with time zone,
	CONSTRAINT "mailing_recipients_mailing_id_user_id_pk" PRIMARY KEY("mailing_id","user_id"),
	CONSTRAINT "mailing_recipients_status_check" CHECK (status in ('pending', 'sent', 'failed', 'skipped'))
);--> statement-breakpoint
CREATE TABLE "mailings" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"dedupe_key" text NOT NULL,
	"content" jsonb NOT NULL,
	"status" text DEFAULT 'sending' NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "mailings_kind_check" CHECK (kind in ('policy-change', 'business-transfer', 'product-update')),
	CONSTRAINT "mailings_status_check" CHECK (status in ('sending', 'sent', 'canceled'))
);--> statement-breakpoint
CREATE TABLE "policy_notice_dismissals" (
	"user_id" text NOT NULL,
	"document" text NOT NULL,
	"version" text NOT NULL,
	"dismissed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "policy_notice_dismissals_user_id_document_version_pk" PRIMARY KEY("user_id","document","version")
);--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"document" text NOT NULL,
	"version" text NOT NULL,
	"language" text NOT NULL,
	"title" text NOT NULL,
	"last_updated" text NOT NULL,
	"body_markdown" text NOT NULL,
	"material" text DEFAULT 'no' NOT NULL,
	"summary" text,
	"body_sha256" text NOT NULL,
	"published_at" timestamp with time zone NOT NULL,
	"published_by" text,
	CONSTRAINT "policy_versions_document_check" CHECK (document in ('privacy', 'terms', 'acceptable-use')),
	CONSTRAINT "policy_versions_material_check" CHECK (material in ('yes', 'no'))
);--> statement-breakpoint
CREATE TABLE "privacy_requests" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"email" text NOT NULL,
	"name" text,
	"user_id" text,
	"subject_email" text,
	"subject_user_id" text,
	"message" text NOT NULL,
	"language" text DEFAULT 'en' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	"closed_by" text,
	"resolution" text,
	CONSTRAINT "privacy_requests_kind_check" CHECK (kind in ('access', 'export', 'correction', 'deletion', 'objection', 'child', 'other')),
	CONSTRAINT "privacy_requests_status_check" CHECK (status in ('open', 'in_progress', 'done', 'rejected'))
);--> statement-breakpoint
CREATE TABLE "retention_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"results" jsonb,
	"error" text
);--> statement-breakpoint
ALTER TABLE "credit_ledger" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "credit_ledger" DROP CONSTRAINT "credit_ledger_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD CONSTRAINT "credit_ledger_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "credit_ledger" ADD COLUMN "subject_ref" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "subject_ref" text;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD COLUMN "subject_ref" text;--> statement-breakpoint
ALTER TABLE "moderation_cases" ADD COLUMN "subject_ref" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "marketing_opt_in_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "account_deletions" ADD CONSTRAINT "account_deletions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_exports" ADD CONSTRAINT "data_exports_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailing_recipients" ADD CONSTRAINT "mailing_recipients_mailing_id_mailings_id_fk" FOREIGN KEY ("mailing_id") REFERENCES "public"."mailings"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailing_recipients" ADD CONSTRAINT "mailing_recipients_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_notice_dismissals" ADD CONSTRAINT "policy_notice_dismissals_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "privacy_requests" ADD CONSTRAINT "privacy_requests_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "privacy_requests" ADD CONSTRAINT "privacy_requests_subject_user_id_users_id_fk" FOREIGN KEY ("subject_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "account_deletions_one_pending_key" ON "account_deletions" USING btree ("user_id") WHERE status in ('scheduled', 'running');--> statement-breakpoint
CREATE INDEX "account_deletions_due_idx" ON "account_deletions" USING btree ("due_at") WHERE status in ('scheduled', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX "account_deletions_subject_ref_key" ON "account_deletions" USING btree ("subject_ref");--> statement-breakpoint
CREATE INDEX "data_exports_user_idx" ON "data_exports" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "data_exports_one_running_key" ON "data_exports" USING btree ("user_id") WHERE status in ('queued', 'building');--> statement-breakpoint
CREATE INDEX "mailing_recipients_pending_idx" ON "mailing_recipients" USING btree ("mailing_id") WHERE status = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "mailings_dedupe_key" ON "mailings" USING btree ("dedupe_key");--> statement-breakpoint
CREATE UNIQUE INDEX "policy_versions_doc_version_lang_key" ON "policy_versions" USING btree ("document","version","language");--> statement-breakpoint
CREATE INDEX "policy_versions_current_idx" ON "policy_versions" USING btree ("document","language","published_at");--> statement-breakpoint
CREATE INDEX "privacy_requests_open_idx" ON "privacy_requests" USING btree ("due_at") WHERE status in ('open', 'in_progress');--> statement-breakpoint
CREATE INDEX "privacy_requests_created_idx" ON "privacy_requests" USING btree ("created_at");
