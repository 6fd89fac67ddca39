import { Lease, Retiring } from '../reloadable';
import type { Mailer } from './mailer';

/**
 * A mailer rebuilt while the process runs (SMTP_URL or MAIL_FROM changed in the console). Services
 * keep this object; each message goes through the current mailer, and the old one (its SMTP
 * connection pool) closes once the messages it was sending are done.
 */
export interface ReloadableMailer extends Mailer {
  /** Builds the mailer again from the current settings. Throws (and keeps the old one) when it cannot be built. */
  reload(): void;
}

export function createReloadableMailer(build: () => Mailer, opts: { onCloseError?: (err: unknown) => void } = {}): ReloadableMailer {
  let lease = new Lease(build(), (m) => m.close());
  const retiring = new Retiring();
  return {
    get kind() {
      return lease.value.kind;
    },
    send: (mail) => lease.run((m) => m.send(mail)),
    reload() {
      const next = new Lease(build(), (m) => m.close());
      const old = lease;
      lease = next;
      retiring.add(old, opts.onCloseError ?? (() => undefined));
    },
    async close() {
      await retiring.settled();
      await lease.retire(0);
    },
  };
}
