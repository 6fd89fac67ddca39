-- Issue 19 (ADR 19): payment fraud. Each failed card payment, for the velocity rules (failed payments per
-- account, per card and per address in the last hour). Card and address are kept only as the keyed HMAC of
-- signal-hash.ts; the row goes with the account.
CREATE TABLE "payment_failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" text,
	"order_id" text,
	"provider" text NOT NULL,
	"event_id" text NOT NULL,
	"payment_fingerprint" text,
	"ip_hash" text,
	"outcome" text,
	"failure_code" text,
	"failed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "payment_failures" ADD CONSTRAINT "payment_failures_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "payment_failures_event_key" ON "payment_failures" USING btree ("provider","event_id");--> statement-breakpoint
CREATE INDEX "payment_failures_user_idx" ON "payment_failures" USING btree ("user_id","failed_at");--> statement-breakpoint
CREATE INDEX "payment_failures_card_idx" ON "payment_failures" USING btree ("payment_fingerprint","failed_at") WHERE payment_fingerprint is not null;--> statement-breakpoint
CREATE INDEX "payment_failures_ip_idx" ON "payment_failures" USING btree ("ip_hash","failed_at") WHERE ip_hash is not null;
