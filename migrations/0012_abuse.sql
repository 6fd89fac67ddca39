-- Issue 19 (ADR 19): abuse and fraud defences. Signals kept to tell a second account from a new person,
-- the free-credit decision of each sign-up, one grant per canonical address, operator additions to the
-- disposable-mail list, spent proof-of-work challenges; a generation hold on accounts; risk facts on orders.
ALTER TABLE "users" ADD COLUMN "canonical_email" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "generation_hold" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "generation_hold_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "checkout_ip" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "payment_fingerprint" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "risk_outcome" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "risk_level" text;--> statement-breakpoint
CREATE TABLE "account_signals" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"kind" text NOT NULL,
	"value_hash" text NOT NULL,
	"label" text,
	"source" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	CONSTRAINT "account_signals_kind_check" CHECK (kind in ('ip', 'ip_prefix', 'device', 'fingerprint', 'canonical_email', 'card', 'wallet')),
	CONSTRAINT "account_signals_source_check" CHECK (source in ('signup', 'verification', 'signin', 'payment'))
);
--> statement-breakpoint
CREATE TABLE "blocked_email_domains" (
	"domain" text PRIMARY KEY NOT NULL,
	"note" text,
	"added_by" text,
	"added_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bot_challenge_uses" (
	"id" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "free_credit_claims" (
	"canonical_hash" text PRIMARY KEY NOT NULL,
	"user_id" text,
	"claimed_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signup_grants" (
	"user_id" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"credits" integer DEFAULT 0 NOT NULL,
	"reason" text,
	"matched_user_id" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "signup_grants_state_check" CHECK (state in ('pending', 'granted', 'withheld', 'none'))
);
--> statement-breakpoint
ALTER TABLE "account_signals" ADD CONSTRAINT "account_signals_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "free_credit_claims" ADD CONSTRAINT "free_credit_claims_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signup_grants" ADD CONSTRAINT "signup_grants_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "users_canonical_email_idx" ON "users" USING btree ("canonical_email");--> statement-breakpoint
CREATE INDEX "orders_payment_fingerprint_idx" ON "orders" USING btree ("payment_fingerprint","created_at") WHERE payment_fingerprint is not null;--> statement-breakpoint
CREATE INDEX "orders_checkout_ip_idx" ON "orders" USING btree ("checkout_ip","created_at") WHERE checkout_ip is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "account_signals_user_value_key" ON "account_signals" USING btree ("user_id","kind","value_hash");--> statement-breakpoint
CREATE INDEX "account_signals_match_idx" ON "account_signals" USING btree ("kind","value_hash","last_seen_at");--> statement-breakpoint
CREATE INDEX "bot_challenge_uses_expires_idx" ON "bot_challenge_uses" USING btree ("expires_at");
