import { describe, expect, it } from 'vitest';
import { maskIp } from './sessions.service';
import { minimumAgeFor } from './age';
import { normalizeLanguage } from '../../../shared/api/account';
import { readIntent, signIntent } from './auth';
import { deviceFingerprint, parseUserAgent, regionFromHeaders } from './request-info';

const IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const IPAD = 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

describe('device facts from the user agent', () => {
  it('tells mobile, tablet and desktop apart with browser and OS', () => {
    expect(parseUserAgent(IPHONE)).toEqual({ deviceType: 'mobile', browser: 'Mobile Safari', os: 'iOS' });
    expect(parseUserAgent(IPAD).deviceType).toBe('tablet');
    expect(parseUserAgent(WINDOWS)).toEqual({ deviceType: 'desktop', browser: 'Chrome', os: 'Windows' });
    expect(parseUserAgent(undefined)).toEqual({ deviceType: 'other', browser: null, os: null });
  });

  it('fingerprints a device by type, browser and OS only', () => {
    const a = deviceFingerprint(parseUserAgent(WINDOWS));
    const b = deviceFingerprint(parseUserAgent(WINDOWS.replace('130.0.0.0', '131.0.0.0')));
    expect(a).toBe(b); // a browser update is the same device
    expect(a).not.toBe(deviceFingerprint(parseUserAgent(IPHONE)));
  });

  it('reads the approximate region from the proxy header only when well formed', () => {
    expect(regionFromHeaders(new Headers({ 'cf-ipcountry': 'de' }), 'cf-ipcountry')).toBe('DE');
    expect(regionFromHeaders(new Headers({ 'cf-ipcountry': 'XX' }), 'cf-ipcountry')).toBeNull();
    expect(regionFromHeaders(new Headers({ 'cf-ipcountry': '<script>' }), 'cf-ipcountry')).toBeNull();
    expect(regionFromHeaders({ 'cf-ipcountry': 'FR' }, 'CF-IPCountry')).toBe('FR');
  });

  it('masks the last part of an IP address', () => {
    expect(maskIp('203.0.113.7')).toBe('203.0.113.x');
    expect(maskIp('::ffff:198.51.100.23')).toBe('198.51.100.x');
    expect(maskIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3:…');
    expect(maskIp(null)).toBeNull();
  });
});

describe('age gate', () => {
  it('asks 16 in the EEA and the UK, 13 elsewhere', () => {
    for (const r of ['DE', 'FR', 'GB', 'NO', 'IS', 'LI', 'ie']) expect(minimumAgeFor(r)).toBe(16);
    for (const r of ['US', 'BR', 'JP', 'CH', 'IN']) expect(minimumAgeFor(r)).toBe(13);
  });

  it('carries a Google sign-up intent in a signed, expiring value that cannot be forged', () => {
    const secret = 's'.repeat(40);
    const v = signIntent(secret, { region: 'DE', ageConfirmed: true, referralCode: 'abc123' }, 1_000_000);
    expect(readIntent(secret, v, 1_000_000 + 60_000)).toMatchObject({ region: 'DE', ageConfirmed: true, referralCode: 'abc123' });
    expect(readIntent(secret, v, 1_000_000 + 31 * 60_000)).toBeNull(); // expired
    expect(readIntent('t'.repeat(40), v, 1_000_000)).toBeNull(); // other secret
    const [payload, mac] = v.split('.');
    const forged = Buffer.from(JSON.stringify({ region: 'US', ageConfirmed: true, exp: 9e15 })).toString('base64url');
    expect(readIntent(secret, `${forged}.${mac!}`, 1_000_000)).toBeNull();
    expect(readIntent(secret, payload, 1_000_000)).toBeNull();
    expect(readIntent(secret, undefined)).toBeNull();
  });

  it('maps languages to the supported ones', () => {
    expect(normalizeLanguage('es-MX')).toBe('es');
    expect(normalizeLanguage('EN_gb')).toBe('en');
    expect(normalizeLanguage('de')).toBe('en');
    expect(normalizeLanguage(undefined)).toBe('en');
  });
});
