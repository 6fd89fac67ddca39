import { randomBytes } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { SignalKind } from '../../db/schema';
import { canonicalEmail, maskEmail } from './email';
import { signalHash } from './signal-hash';

/**
 * The signals of one request (issue 19, privacy policy 1.4): the client address and its network
 * (/24 or /64), the first-party device cookie, the browser fingerprint the web app computed, and the
 * canonical email. Pure: parsing, masking and hashing; the repository stores them.
 */

/** The first-party device cookie: a random 128-bit id (32 hex), httpOnly, SameSite=Lax, about two years. */
export const DEVICE_COOKIE = 'savesora_device';
export const DEVICE_COOKIE_MAX_AGE = 2 * 365 * 86_400;
/**
 * The header our HTTP layer sets on a request it forwards to Better Auth when it has just issued the
 * device cookie (the request itself does not carry it yet). Anything a client sends in it is dropped.
 */
export const NEW_DEVICE_HEADER = 'x-savesora-new-device';
/** The header the web app adds to sign-up and sign-in POSTs: the browser fingerprint (FingerprintJS visitor id), hex. */
export const FINGERPRINT_HEADER = 'x-client-fingerprint';

/** A signal ready to store: its kind, the keyed hash of its value, and the masked label an operator may read. */
export interface Signal {
  kind: SignalKind;
  hash: string;
  label: string;
}

/** The kinds that say "the same device" (high confidence) and "the same network" (low). */
export const DEVICE_KINDS = ['device', 'fingerprint'] as const satisfies readonly SignalKind[];
export const NETWORK_KINDS = ['ip', 'ip_prefix'] as const satisfies readonly SignalKind[];

/** Address ranges of a proxy, a LAN or this machine: never a person's address, so never a signal. */
const NOT_A_CLIENT = new Set(['loopback', 'private', 'linkLocal', 'uniqueLocal', 'unspecified', 'carrierGradeNat', 'broadcast', 'multicast']);

/**
 * The client address and its network as signals, or none when the address is not a public client's
 * (loopback, private, link-local, unique-local, carrier-grade NAT) or not an address at all.
 * IPv4-mapped IPv6 addresses count as IPv4.
 */
export function ipSignals(key: Buffer, rawIp: string | null | undefined): Signal[] {
  if (!rawIp || !ipaddr.isValid(rawIp.trim())) return [];
  let addr = ipaddr.parse(rawIp.trim());
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (NOT_A_CLIENT.has(addr.range())) return [];
  if (addr.kind() === 'ipv4') {
    const octets = (addr as ipaddr.IPv4).octets;
    const exact = octets.join('.');
    const prefix = `${octets.slice(0, 3).join('.')}.0/24`;
    return [
      { kind: 'ip', hash: signalHash(key, 'ip', exact), label: `${octets.slice(0, 3).join('.')}.•` },
      { kind: 'ip_prefix', hash: signalHash(key, 'ip_prefix', prefix), label: prefix },
    ];
  }
  const parts = (addr as ipaddr.IPv6).parts;
  const exact = (addr as ipaddr.IPv6).toNormalizedString();
  const net = ipaddr.IPv6.parse(
    `${parts
      .slice(0, 4)
      .map((p) => p.toString(16))
      .join(':')}::`,
  ).toString();
  const prefix = `${net}/64`;
  return [
    { kind: 'ip', hash: signalHash(key, 'ip', exact), label: `${net.replace(/::$/, '')}:•` },
    { kind: 'ip_prefix', hash: signalHash(key, 'ip_prefix', prefix), label: prefix },
  ];
}

/** A new device id for the cookie. */
export function newDeviceId(): string {
  return randomBytes(16).toString('hex');
}

/** The device id a cookie value holds, or null when it is not one of ours (32 lower-case hex). */
export function parseDeviceId(value: string | null | undefined): string | null {
  return value && /^[0-9a-f]{32}$/.test(value) ? value : null;
}

/** The value of one cookie in a Cookie header. */
export function cookieIn(header: string | null | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header of a new device cookie. */
export function deviceSetCookie(id: string, secure: boolean): string {
  return `${DEVICE_COOKIE}=${id}; Path=/; Max-Age=${DEVICE_COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/** The fingerprint a header holds, lower case, or null when it is missing or not 1-64 hex digits. */
export function parseFingerprint(value: string | null | undefined): string | null {
  const v = value?.trim();
  return v && /^[0-9a-fA-F]{1,64}$/.test(v) ? v.toLowerCase() : null;
}

export interface RequestFacts {
  ip?: string | null | undefined;
  /** the device cookie's id (already parsed) */
  device?: string | null | undefined;
  /** the fingerprint header's value (already parsed) */
  fingerprint?: string | null | undefined;
  email?: string | null | undefined;
}

/** Every signal of a request: address and network, device, fingerprint, canonical email. */
export function requestSignals(key: Buffer, facts: RequestFacts): Signal[] {
  const out = ipSignals(key, facts.ip);
  if (facts.device) {
    const hash = signalHash(key, 'device', facts.device);
    out.push({ kind: 'device', hash, label: `device ${hash.slice(0, 8)}` });
  }
  if (facts.fingerprint) {
    const hash = signalHash(key, 'fingerprint', facts.fingerprint);
    out.push({ kind: 'fingerprint', hash, label: `browser ${hash.slice(0, 8)}` });
  }
  if (facts.email) {
    const canonical = canonicalEmail(facts.email);
    out.push({ kind: 'canonical_email', hash: signalHash(key, 'canonical_email', canonical), label: maskEmail(canonical) });
  }
  return out;
}

/** The facts of a request as Better Auth hands it over (our HTTP layer put the client IP in `ipHeader`). */
export function factsFromHeaders(headers: Headers | null | undefined, ipHeader: string, email?: string | null): RequestFacts {
  return {
    ip: headers?.get(ipHeader) ?? null,
    device: parseDeviceId(cookieIn(headers?.get('cookie'), DEVICE_COOKIE)) ?? parseDeviceId(headers?.get(NEW_DEVICE_HEADER)),
    fingerprint: parseFingerprint(headers?.get(FINGERPRINT_HEADER)),
    email: email ?? null,
  };
}

/**
 * Makes sure a request forwarded to Better Auth names a device: when its Cookie header has no device
 * id of ours, a new one goes in NEW_DEVICE_HEADER (not in the Cookie header: Better Auth checks the
 * Origin of requests that carry cookies, and a first request carries none) and the Set-Cookie header
 * to send back is returned.
 */
export function withDeviceCookie(headers: Headers, secure: boolean): string | null {
  headers.delete(NEW_DEVICE_HEADER);
  if (parseDeviceId(cookieIn(headers.get('cookie'), DEVICE_COOKIE))) return null;
  const id = newDeviceId();
  headers.set(NEW_DEVICE_HEADER, id);
  return deviceSetCookie(id, secure);
}
