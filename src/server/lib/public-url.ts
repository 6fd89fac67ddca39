import net from 'node:net';

/**
 * Which addresses count as public for URLs users give us (safe-fetch.ts, safe-post.ts): no
 * loopback, private, link-local, CGNAT, multicast or reserved ranges, IPv4 or IPv6.
 *
 * IPv6 forms that carry an IPv4 address:
 * - `::ffff:a.b.c.d` (IPv4-mapped) and `64:ff9b::a.b.c.d` (the well-known NAT64 prefix) reach
 *   exactly that IPv4 address (the socket connects to it, or a NAT64 gateway translates to it), so
 *   the embedded IPv4 address decides: `::ffff:8.8.8.8` is public, `::ffff:10.0.0.1` and
 *   `64:ff9b::169.254.169.254` are not. (Blocking all of 64:ff9b::/96 would break every fetch from
 *   an IPv6-only host whose DNS64 resolver hands out such addresses for IPv4-only sites.)
 * - Always refused, whatever IPv4 they carry: `::a.b.c.d` (IPv4-compatible, ::/96, deprecated),
 *   `::ffff:0:a.b.c.d` (IPv4-translated, ::ffff:0:0:0/96), `64:ff9b:1::/48` (local-use NAT64: its
 *   mapping is whatever the local network says), 6to4 `2002::/16` and Teredo `2001::/32`
 *   (tunnels through relays that may deliver to the embedded address inside our network;
 *   both deprecated, no public site needs them), and site-local `fec0::/10`.
 */
const blockedV4 = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blockedV4.addSubnet(addr, prefix, 'ipv4');

const blockedV6 = new net.BlockList();
for (const [addr, prefix] of [
  ['::', 96], // IPv4-compatible (deprecated); also holds :: and ::1
  ['::ffff:0:0:0', 96], // IPv4-translated
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  blockedV6.addSubnet(addr, prefix, 'ipv6');

/** The 16 bytes of an IPv6 address (a `%zone` suffix ignored), or null when it is not one. */
export function ipv6Bytes(address: string): Uint8Array | null {
  const text = address.replace(/%.*$/, '');
  if (!net.isIPv6(text)) return null;
  let head = text;
  const tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [, words6 = '', quad = ''] = dotted;
    head = words6.endsWith('::') ? words6 : words6.slice(0, -1);
    const [a = 0, b = 0, c = 0, d = 0] = quad.split('.').map(Number);
    tail.push((a << 8) | b, (c << 8) | d);
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const l = words(left);
  const r = [...words(right), ...tail];
  const missing = 8 - l.length - r.length;
  const all = right === undefined && !head.includes('::') ? [...l, ...tail] : [...l, ...Array<number>(Math.max(0, missing)).fill(0), ...r];
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffff)) return null;
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((b, i) => bytes[i] === b);
const v4At = (bytes: Uint8Array, at: number) => Array.from(bytes.subarray(at, at + 4)).join('.');
const MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const NAT64 = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * The IPv4 address an IPv6 address stands for, when the connection really goes to that IPv4
 * address: IPv4-mapped (::ffff:0:0/96) and well-known NAT64 (64:ff9b::/96). Null otherwise.
 */
export function embeddedIpv4(address: string): string | null {
  const bytes = ipv6Bytes(address);
  if (!bytes) return null;
  if (startsWith(bytes, MAPPED) || startsWith(bytes, NAT64)) return v4At(bytes, 12);
  return null;
}

export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address.replace(/%.*$/, ''));
  if (family === 0) return false;
  if (family === 4) return !blockedV4.check(address, 'ipv4');
  const embedded = embeddedIpv4(address);
  if (embedded) return !blockedV4.check(embedded, 'ipv4');
  const bytes = ipv6Bytes(address);
  if (!bytes) return false;
  // normalised text: BlockList wants a plain address (no zone, no dotted tail)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = Array.from({ length: 8 }, (_, i) => view.getUint16(i * 2).toString(16));
  return !blockedV6.check(words.join(':'), 'ipv6');
}
