-- Dashboard aggregates (issue 18): the indexes the hourly rollup (src/server/domain/admin/stats.repo.ts) reads its source rows by: who was active (generations and sessions by creation time, with the user), revenue (orders by payment time), refunds and disputes (applied payment events by time, and by order for the refunds before them), moderation flags (cases by opening time).
CREATE INDEX "generations_created_idx" ON "generations" USING btree ("created_at","user_id");--> statement-breakpoint
CREATE INDEX "sessions_created_idx" ON "sessions" USING btree ("created_at","user_id");--> statement-breakpoint
CREATE INDEX "orders_paid_idx" ON "orders" USING btree ("paid_at") WHERE paid_at is not null;--> statement-breakpoint
CREATE INDEX "payment_events_takeback_idx" ON "payment_events" USING btree ("applied_at") WHERE state = 'applied' and type in ('payment.refunded', 'payment.disputed');--> statement-breakpoint
CREATE INDEX "payment_events_takeback_order_idx" ON "payment_events" USING btree ("order_id","applied_at") WHERE state = 'applied' and type in ('payment.refunded', 'payment.disputed');--> statement-breakpoint
CREATE INDEX "moderation_cases_opened_idx" ON "moderation_cases" USING btree ("opened_at");
