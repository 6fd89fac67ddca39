import { describe, expect, it } from 'vitest';
import { signalHash, signalKey } from './signal-hash';
import { factsFromHeaders, ipSignals, parseDeviceId, parseFingerprint, requestSignals, withDeviceCookie } from './signals';

const key = signalKey('a-session-secret-that-is-long-enough-0000');

describe('request signals', () => {
  it('an IPv4 address gives the address and its /24, hashed, with masked labels', () => {
    const s = ipSignals(key, '203.0.113.7');
    expect(s).toEqual([
      { kind: 'ip', hash: signalHash(key, 'ip', '203.0.113.7'), label: '203.0.113.•' },
      { kind: 'ip_prefix', hash: signalHash(key, 'ip_prefix', '203.0.113.0/24'), label: '203.0.113.0/24' },
    ]);
    // an IPv4-mapped IPv6 address is the same person
    expect(ipSignals(key, '::ffff:203.0.113.7')).toEqual(s);
  });

  it('an IPv6 address gives the address and its /64', () => {
    const [ip, prefix] = ipSignals(key, '2001:DB8:1:2:aa:bb:cc:dd');
    expect(ip).toMatchObject({ kind: 'ip', hash: signalHash(key, 'ip', '2001:db8:1:2:aa:bb:cc:dd'), label: '2001:db8:1:2:•' });
    expect(prefix).toMatchObject({ kind: 'ip_prefix', label: '2001:db8:1:2::/64' });
    expect(ipSignals(key, '2001:db8:1:2::9')[1]!.hash).toBe(prefix!.hash);
  });

  it('loopback, private, link-local, CGNAT and malformed addresses are no signal', () => {
    for (const ip of [
      '127.0.0.1',
      '::1',
      '10.0.0.8',
      '192.168.1.2',
      '172.16.5.5',
      '169.254.1.1',
      'fe80::1',
      'fd00::1',
      '100.64.0.1',
      '0.0.0.0',
      'nonsense',
      '',
      undefined,
    ]) {
      expect(ipSignals(key, ip), String(ip)).toEqual([]);
    }
  });

  it('device cookie ids and fingerprints are checked; the rest is ignored', () => {
    expect(parseDeviceId('0123456789abcdef0123456789abcdef')).toBe('0123456789abcdef0123456789abcdef');
    for (const bad of ['0123', 'ZZ23456789abcdef0123456789abcdef', '0123456789ABCDEF0123456789ABCDEF', undefined]) expect(parseDeviceId(bad)).toBeNull();
    expect(parseFingerprint(' ABCdef01 ')).toBe('abcdef01');
    for (const bad of ['', 'xyz', 'a'.repeat(65), '12 34']) expect(parseFingerprint(bad)).toBeNull();
  });

  it('reads the facts Better Auth hands over, and hashes every signal', () => {
    const headers = new Headers({
      'x-ip': '198.51.100.4',
      cookie: 'a=1; savesora_device=0123456789abcdef0123456789abcdef; b=2',
      'x-client-fingerprint': 'FEEDBEEF',
    });
    const signals = requestSignals(key, factsFromHeaders(headers, 'x-ip', 'Jane.Doe+x@gmail.com'));
    expect(signals.map((s) => s.kind)).toEqual(['ip', 'ip_prefix', 'device', 'fingerprint', 'canonical_email']);
    expect(signals.find((s) => s.kind === 'canonical_email')).toEqual({
      kind: 'canonical_email',
      hash: signalHash(key, 'canonical_email', 'janedoe@gmail.com'),
      label: 'j•••@gmail.com',
    });
    expect(signals.find((s) => s.kind === 'fingerprint')!.hash).toBe(signalHash(key, 'fingerprint', 'feedbeef'));
    expect(JSON.stringify(signals)).not.toMatch(/0123456789abcdef|198\.51\.100\.4|feedbeef/i);
  });

  it('a request without a device cookie gets one, seen by the request itself; one with a cookie keeps it', () => {
    // (a client's own value of the internal header is dropped)
    const h = new Headers({ cookie: 'other=1', 'x-savesora-new-device': 'ffffffffffffffffffffffffffffffff' });
    const set = withDeviceCookie(h, true)!;
    const id = /^savesora_device=([0-9a-f]{32});/.exec(set)?.[1] ?? 'missing';
    expect(set).toBe(`savesora_device=${id}; Path=/; Max-Age=63072000; HttpOnly; SameSite=Lax; Secure`);
    // the cookie header is left alone (Better Auth checks the Origin of requests with cookies); the new id travels beside it
    expect(h.get('cookie')).toBe('other=1');
    expect(factsFromHeaders(h, 'x-ip').device).toBe(id);
    const returning = new Headers({ cookie: `savesora_device=${id}`, 'x-savesora-new-device': 'ffffffffffffffffffffffffffffffff' });
    expect(withDeviceCookie(returning, true)).toBeNull();
    expect(returning.has('x-savesora-new-device')).toBe(false);
    const forged = new Headers({ cookie: 'savesora_device=not-ours' });
    expect(withDeviceCookie(forged, false)).toMatch(/^savesora_device=[0-9a-f]{32}; Path=\/; Max-Age=63072000; HttpOnly; SameSite=Lax$/);
  });
});
