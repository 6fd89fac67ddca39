import { describe, expect, it } from 'vitest';
import { embeddedIpv4, ipv6Bytes, isPublicAddress } from './public-url';

/** Only parses addresses: nothing here connects anywhere. */
describe('isPublicAddress', () => {
  it('public IPv4 and IPv6 addresses pass', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:80b::200e']) expect(isPublicAddress(a), a).toBe(true);
  });

  it('private, loopback, link-local and reserved IPv4 are refused', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it('loopback, unspecified, unique-local, link-local, multicast and documentation IPv6 are refused', () => {
    for (const a of ['::1', '::', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '2001:db8::1']) expect(isPublicAddress(a), a).toBe(false);
  });

  it('IPv4-compatible ::/96 is refused whatever it carries (::8.8.8.8 too)', () => {
    for (const a of ['::127.0.0.1', '::7f00:1', '::10.0.0.1', '::8.8.8.8', '::808:808']) expect(isPublicAddress(a), a).toBe(false);
  });

  it('IPv4-translated ::ffff:0:0:0/96 is refused whatever it carries', () => {
    for (const a of ['::ffff:0:127.0.0.1', '::ffff:0:a00:1', '::ffff:0:8.8.8.8']) expect(isPublicAddress(a), a).toBe(false);
  });

  it('IPv4-mapped ::ffff:a.b.c.d: the embedded IPv4 decides, in dotted or hex form', () => {
    for (const a of [
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:a00:1',
      '::ffff:169.254.169.254',
      '::FFFF:192.168.0.1',
      '0:0:0:0:0:ffff:c0a8:1',
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    for (const a of ['::ffff:8.8.8.8', '::ffff:808:808', '0:0:0:0:0:ffff:5db8:d822']) expect(isPublicAddress(a), a).toBe(true);
  });

  it('well-known NAT64 64:ff9b::/96: the embedded IPv4 decides', () => {
    for (const a of ['64:ff9b::127.0.0.1', '64:ff9b::a00:1', '64:ff9b::169.254.169.254', '64:ff9b::c0a8:101']) expect(isPublicAddress(a), a).toBe(false);
    for (const a of ['64:ff9b::8.8.8.8', '64:ff9b::808:808']) expect(isPublicAddress(a), a).toBe(true);
  });

  it('local-use NAT64 64:ff9b:1::/48 is refused whatever it carries', () => {
    for (const a of ['64:ff9b:1::8.8.8.8', '64:ff9b:1::a00:1', '64:ff9b:1:ffff::1']) expect(isPublicAddress(a), a).toBe(false);
  });

  it('6to4 2002::/16 and Teredo 2001::/32 are refused, even with a public IPv4 inside', () => {
    // 2002:AABB:CCDD:: carries AA.BB.CC.DD: 10.0.0.1, 127.0.0.1, 8.8.8.8
    for (const a of ['2002:a00:1::', '2002:7f00:1::1', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2']) expect(isPublicAddress(a), a).toBe(false);
  });

  it('site-local fec0::/10 is refused', () => {
    for (const a of ['fec0::1', 'feff:ffff::1']) expect(isPublicAddress(a), a).toBe(false);
  });

  it('anything that is not an IP address is refused', () => {
    for (const a of ['', 'localhost', '1.2.3', '::g', '1::2::3']) expect(isPublicAddress(a), a).toBe(false);
  });
});

describe('IPv6 parsing', () => {
  it('reads dotted tails and :: in any place', () => {
    expect(Array.from(ipv6Bytes('::ffff:1.2.3.4')!)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect(Array.from(ipv6Bytes('1:2:3:4:5:6:7.8.9.10')!)).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 7, 8, 9, 10]);
    expect(Array.from(ipv6Bytes('2002:aabb:ccdd::')!).slice(0, 6)).toEqual([0x20, 0x02, 0xaa, 0xbb, 0xcc, 0xdd]);
    expect(ipv6Bytes('10.0.0.1')).toBeNull();
  });

  it('embeddedIpv4 answers for mapped and well-known NAT64 only', () => {
    expect(embeddedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('64:ff9b::8.8.4.4')).toBe('8.8.4.4');
    expect(embeddedIpv4('2002:808:808::')).toBeNull();
    expect(embeddedIpv4('::8.8.8.8')).toBeNull();
  });
});
