import type { Config } from '../../config';

/**
 * The retention schedule (privacy policy 3; issue 17): every kind of record that does not live
 * exactly as long as the account, how long it is kept, what happens at the end, and which job
 * does it. Declared once, here: the daily `privacy.retention` job applies the kinds it owns
 * (retention.service.ts), `retention:report` prints the whole table with what is due now, and the
 * tests prove each kind on a fake clock.
 *
 * Legal holds come first everywhere: a record that a hold covers (its user's, or the creation or
 * case it belongs to) stays past its period until the hold ends. Records not listed here are kept
 * for the life of the account and go with it (account deletion), except what the deletion keeps
 * pseudonymised (orders and the ledger rows behind them, listed below; safety cases, kept).
 */

/** Every record kind, in the order the job applies them and the report prints them. */
export const retentionKindIds = [
  'api-request-log',
  'webhook-deliveries',
  'payment-events',
  'sign-in-devices',
  'account-signals',
  'payment-failures',
  'export-files',
  'export-records',
  'mail-outbox',
  'deleted-account-orders',
  'deleted-account-subscriptions',
  'deleted-account-ledger',
  'account-deletions',
  'canceled-account-deletions',
  'privacy-requests',
  'mailing-recipients',
  'retention-runs',
  'audit-log',
  'sessions',
  'one-time-tokens',
  'rate-limit-windows',
  'idempotency-keys',
  'deleted-creations',
  'job-probe-runs',
  'job-queue-history',
] as const;
export type RetentionKindId = (typeof retentionKindIds)[number];

/** Who applies a kind: the daily retention job, or the job that already owned it before the schedule existed. */
export type RetentionApplier = 'privacy.retention' | 'maintenance.cleanup' | 'media.purge' | 'system.probe' | 'pg-boss';

export type RetentionAction = 'delete' | 'expire-file' | 'forget';

export interface RetentionPeriod {
  amount: number;
  unit: 'hours' | 'days' | 'years';
  /** the setting it comes from; null: fixed */
  setting: keyof Config | null;
}

export interface RetentionKind {
  id: RetentionKindId;
  /** what the record is */
  record: string;
  /** the event the period counts from */
  from: string;
  period: (config: RetentionSettings) => RetentionPeriod;
  /** how the period reads when the record carries its own expiry (the report prints this instead) */
  periodNote?: (config: RetentionSettings) => string;
  /** delete: the rows (and files) go; expire-file: the file goes and the row is marked expired; forget: a field is cleared */
  action: RetentionAction;
  /** the action in words, for the report */
  then: string;
  appliedBy: RetentionApplier;
  /** what a legal hold covers here ('-': nothing of a person to hold, or the record is gone with its expiry anyway) */
  holds: string;
}

/** The settings the schedule reads. */
export type RetentionSettings = Pick<
  Config,
  | 'API_LOG_RETENTION_DAYS'
  | 'AUDIT_LOG_RETENTION_DAYS'
  | 'WEBHOOK_DELIVERY_RETENTION_DAYS'
  | 'PAYMENT_EVENT_RETENTION_DAYS'
  | 'DEVICE_RETENTION_DAYS'
  | 'ABUSE_SIGNAL_RETENTION_DAYS'
  | 'EXPORT_LINK_DAYS'
  | 'PRIVACY_REQUEST_RETENTION_DAYS'
  | 'MAIL_OUTBOX_RETENTION_DAYS'
  | 'ORDER_RETENTION_YEARS'
  | 'SESSION_IDLE_DAYS'
  | 'MEDIA_PURGE_DAYS'
>;

const days = (amount: number, setting: keyof Config | null): RetentionPeriod => ({ amount, unit: 'days', setting });

export const retentionSchedule: readonly RetentionKind[] = [
  {
    id: 'api-request-log',
    record: 'API request log (endpoint, status, bytes, time)',
    from: 'the request',
    period: (c) => days(c.API_LOG_RETENTION_DAYS, 'API_LOG_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'webhook-deliveries',
    record: 'customer webhook deliveries (event body, answers)',
    from: 'the event (retries end within a day)',
    period: (c) => days(c.WEBHOOK_DELIVERY_RETENTION_DAYS, 'WEBHOOK_DELIVERY_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'user, creation, case',
  },
  {
    id: 'payment-events',
    record: "payment providers' notifications",
    from: 'applied (or ignored); waiting ones stay',
    period: (c) => days(c.PAYMENT_EVENT_RETENTION_DAYS, 'PAYMENT_EVENT_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: "the order's user",
  },
  {
    id: 'sign-in-devices',
    record: 'sign-in devices (for new-device alerts)',
    from: 'last seen',
    period: (c) => days(c.DEVICE_RETENTION_DAYS, 'DEVICE_RETENTION_DAYS'),
    action: 'delete',
    then: 'forgotten',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'account-signals',
    record: 'abuse signals (hashed IP, network, device, browser fingerprint, canonical email; issue 19)',
    from: 'last seen',
    period: (c) => days(c.ABUSE_SIGNAL_RETENTION_DAYS, 'ABUSE_SIGNAL_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'payment-failures',
    record: 'failed card payments (hashed card fingerprint and address; velocity rules, issue 19)',
    from: 'the failure',
    period: (c) => days(c.ABUSE_SIGNAL_RETENTION_DAYS, 'ABUSE_SIGNAL_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'export-files',
    record: 'data export archives (ZIP)',
    from: 'ready (the download link works until then)',
    period: (c) => days(c.EXPORT_LINK_DAYS, 'EXPORT_LINK_DAYS'),
    action: 'expire-file',
    then: 'file deleted, export marked expired',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'export-records',
    record: 'data export records (when, by whom, counts)',
    from: 'expired or failed',
    period: (c) => days(c.PRIVACY_REQUEST_RETENTION_DAYS, 'PRIVACY_REQUEST_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'mail-outbox',
    record: 'mail in the outbox folder (installs without SMTP)',
    from: 'written',
    period: (c) => days(c.MAIL_OUTBOX_RETENTION_DAYS, 'MAIL_OUTBOX_RETENTION_DAYS'),
    action: 'delete',
    then: 'files deleted',
    appliedBy: 'privacy.retention',
    holds: "recipient's account",
  },
  {
    id: 'deleted-account-orders',
    record: 'orders and receipts of deleted accounts (pseudonymised at deletion), with their ledger rows',
    from: "the order's last change (payment, refund)",
    period: (c) => ({ amount: c.ORDER_RETENTION_YEARS, unit: 'years', setting: 'ORDER_RETENTION_YEARS' }),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: '- (no person left to hold)',
  },
  {
    id: 'deleted-account-subscriptions',
    record: 'subscriptions of deleted accounts (pseudonymised at deletion)',
    from: 'last change, once no kept order names them',
    period: (c) => ({ amount: c.ORDER_RETENTION_YEARS, unit: 'years', setting: 'ORDER_RETENTION_YEARS' }),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: '- (no person left to hold)',
  },
  {
    id: 'deleted-account-ledger',
    record: 'credit ledger rows of deleted accounts (pseudonymised at deletion)',
    from: 'the movement, once no kept order or subscription names them',
    period: (c) => ({ amount: c.ORDER_RETENTION_YEARS, unit: 'years', setting: 'ORDER_RETENTION_YEARS' }),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: '- (no person left to hold)',
  },
  {
    id: 'account-deletions',
    record: 'completed account deletions (pseudonym, counts, who asked)',
    from: 'completed',
    period: (c) => ({ amount: c.ORDER_RETENTION_YEARS, unit: 'years', setting: 'ORDER_RETENTION_YEARS' }),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: '- (no person left to hold)',
  },
  {
    id: 'canceled-account-deletions',
    record: 'account deletions canceled in their grace period',
    from: 'canceled',
    period: (c) => days(c.PRIVACY_REQUEST_RETENTION_DAYS, 'PRIVACY_REQUEST_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'privacy-requests',
    record: 'privacy requests and child reports, once closed',
    from: 'closed (done or rejected)',
    period: (c) => days(c.PRIVACY_REQUEST_RETENTION_DAYS, 'PRIVACY_REQUEST_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'requester or subject account',
  },
  {
    id: 'mailing-recipients',
    record: 'who a notice or product update was mailed to',
    from: 'the mailing finished',
    period: (c) => days(c.PRIVACY_REQUEST_RETENTION_DAYS, 'PRIVACY_REQUEST_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted (the mailing itself stays)',
    appliedBy: 'privacy.retention',
    holds: 'user',
  },
  {
    id: 'retention-runs',
    record: 'the log of this job (counts per kind, no personal data)',
    from: 'the run',
    period: (c) => days(c.PRIVACY_REQUEST_RETENTION_DAYS, 'PRIVACY_REQUEST_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: '-',
  },
  {
    id: 'audit-log',
    record: "the operators' audit log (who did what, when, from where)",
    from: 'the action',
    period: (c) => days(c.AUDIT_LOG_RETENTION_DAYS, 'AUDIT_LOG_RETENTION_DAYS'),
    action: 'delete',
    then: 'deleted',
    appliedBy: 'privacy.retention',
    holds: 'the user acted on',
  },
  {
    id: 'sessions',
    record: 'sign-in sessions (device, browser, IP, region)',
    from: 'last use (they expire after SESSION_IDLE_DAYS idle)',
    period: (c) => days(c.SESSION_IDLE_DAYS, 'SESSION_IDLE_DAYS'),
    periodNote: (c) => `until it expires: ${c.SESSION_IDLE_DAYS} days unused (SESSION_IDLE_DAYS)`,
    action: 'delete',
    then: 'deleted once expired (every 15 minutes)',
    appliedBy: 'maintenance.cleanup',
    holds: '- (expired: no longer usable)',
  },
  {
    id: 'one-time-tokens',
    record: 'email verification, password reset and sign-in state tokens',
    from: 'issued (each has its own expiry)',
    period: () => ({ amount: 1, unit: 'hours', setting: null }),
    periodNote: () => 'until it expires',
    action: 'delete',
    then: 'deleted once expired (every 15 minutes)',
    appliedBy: 'maintenance.cleanup',
    holds: '-',
  },
  {
    id: 'rate-limit-windows',
    record: 'rate-limit counters (per IP, key or account)',
    from: 'the window ends',
    period: () => ({ amount: 1, unit: 'hours', setting: null }),
    periodNote: () => 'its window, then 1 hour',
    action: 'delete',
    then: 'deleted (every 15 minutes)',
    appliedBy: 'maintenance.cleanup',
    holds: '-',
  },
  {
    id: 'idempotency-keys',
    record: "generation requests' Idempotency-Key values",
    from: 'the request',
    period: () => ({ amount: 24, unit: 'hours', setting: null }),
    action: 'forget',
    then: 'cleared (every 15 minutes)',
    appliedBy: 'maintenance.cleanup',
    holds: '-',
  },
  {
    id: 'deleted-creations',
    record: 'creations and references the user deleted (rows; their files go at once)',
    from: 'deleted',
    period: (c) => days(c.MEDIA_PURGE_DAYS, 'MEDIA_PURGE_DAYS'),
    action: 'delete',
    then: 'rows and any files left purged (daily)',
    appliedBy: 'media.purge',
    holds: 'user, creation, reference, case',
  },
  {
    id: 'job-probe-runs',
    record: 'queue probe results (worker ids)',
    from: 'the probe',
    period: () => days(7, null),
    action: 'delete',
    then: 'deleted at the next probe',
    appliedBy: 'system.probe',
    holds: '-',
  },
  {
    id: 'job-queue-history',
    record: 'finished background jobs (ids only)',
    from: 'finished (archived after 12 hours)',
    period: () => days(7, null),
    action: 'delete',
    then: "deleted by the queue's own maintenance",
    appliedBy: 'pg-boss',
    holds: '-',
  },
];

/** The kinds the daily retention job applies itself. */
export const ownRetentionKinds = retentionSchedule.filter((k) => k.appliedBy === 'privacy.retention');

/** "90 days (API_LOG_RETENTION_DAYS)" */
export function describePeriod(p: RetentionPeriod): string {
  const amount = `${p.amount} ${p.amount === 1 ? p.unit.replace(/s$/, '') : p.unit}`;
  return p.setting ? `${amount} (${p.setting})` : amount;
}

/** The instant before which a record's period has ended, at `now`. */
export function cutoffOf(p: RetentionPeriod, now: Date): Date {
  const d = new Date(now.getTime());
  if (p.unit === 'years') d.setUTCFullYear(d.getUTCFullYear() - p.amount);
  else d.setTime(d.getTime() - p.amount * (p.unit === 'days' ? 86_400_000 : 3_600_000));
  return d;
}
