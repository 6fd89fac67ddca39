import { createHash } from 'node:crypto';
import UAParser from 'ua-parser-js';

/** What we record about the device behind a request (privacy policy 1.4). */
export interface DeviceInfo {
  deviceType: 'mobile' | 'tablet' | 'desktop' | 'other';
  browser: string | null;
  os: string | null;
}

export function parseUserAgent(userAgent: string | null | undefined): DeviceInfo {
  if (!userAgent) return { deviceType: 'other', browser: null, os: null };
  const r = new UAParser(userAgent).getResult();
  const type = r.device.type;
  const deviceType = type === 'mobile' || type === 'wearable' ? 'mobile' : type === 'tablet' ? 'tablet' : type ? 'other' : 'desktop';
  return { deviceType, browser: r.browser.name ?? null, os: r.os.name ?? null };
}

/** Same device type, browser and OS: the same "device" for new-sign-in alerts. */
export function deviceFingerprint(d: DeviceInfo): string {
  return createHash('sha256')
    .update(`${d.deviceType}|${d.browser ?? ''}|${d.os ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}

/**
 * Approximate region: the country code our CDN/proxy puts in a header (Cloudflare's
 * CF-IPCountry by default). Only trusted behind a proxy; otherwise unknown.
 */
export function regionFromHeaders(headers: Headers | Record<string, string | string[] | undefined>, headerName: string | undefined): string | null {
  if (!headerName) return null;
  const raw = headers instanceof Headers ? headers.get(headerName) : headers[headerName.toLowerCase()];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value && /^[A-Za-z]{2}$/.test(value) && value.toUpperCase() !== 'XX' ? value.toUpperCase() : null;
}
