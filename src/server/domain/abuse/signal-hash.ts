import { createHmac } from 'node:crypto';
import type { SignalKind } from '../../db/schema';

/**
 * The stored form of an abuse signal (account_signals.value_hash, orders.payment_fingerprint, the
 * free-credit claim of a canonical address): HMAC-SHA256 keyed by a key derived from SESSION_SECRET,
 * over the kind and the value, in hex. The same value of the same kind always gives the same hash on
 * one installation (so accounts can be matched), and the table alone reveals nothing.
 */
export function signalKey(sessionSecret: string): Buffer {
  return createHmac('sha256', sessionSecret).update('savesora-abuse-signals-v1').digest();
}

export function signalHash(key: Buffer, kind: SignalKind, value: string): string {
  return createHmac('sha256', key).update(`${kind}\0${value}`).digest('hex');
}
