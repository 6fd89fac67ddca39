import { createHash, createPublicKey, verify as cryptoVerify, X509Certificate } from 'node:crypto';

/**
 * A small C2PA reader written from the specifications, sharing no code with the signing library:
 * it finds the manifest store in a JPEG (APP11 / JPEG XT boxes) or an ISO BMFF file (the C2PA
 * `uuid` box), walks the JUMBF boxes, decodes the CBOR claims and assertions, and checks with
 * node:crypto what it can on its own: the COSE_Sign1 claim signature (ES256 and the x5chain
 * certificate), the assertion hashes the claim lists, and for JPEG the `c2pa.hash.data` hard
 * binding of the image bytes.
 */

export const C2PA_BMFF_UUID = 'd8fec3d61b0e483c92975828877ec481';

export interface JumbfBox {
  type: string;
  /** for a `jumb` superbox: its description and child boxes */
  label?: string;
  typeUuid?: string;
  children?: JumbfBox[];
  /** for a content box: its payload */
  payload?: Buffer;
  /** the box's bytes without its own LBox/TBox header */
  body: Buffer;
}

export interface C2paAssertion {
  label: string;
  data: unknown;
  box: JumbfBox;
}

export interface C2paManifest {
  label: string;
  claimLabel: string;
  claimBytes: Buffer;
  claim: Record<string, unknown>;
  assertions: C2paAssertion[];
  signatureBytes: Buffer;
}

export interface C2paStore {
  format: 'jpeg' | 'bmff';
  jumbf: Buffer;
  manifests: C2paManifest[];
  /** the active manifest is the last one in the store */
  active: C2paManifest;
}

// --- CBOR (RFC 8949), just what C2PA uses ---

export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: unknown,
  ) {}
}

export function decodeCbor(buf: Buffer): unknown {
  let pos = 0;
  const readUint = (info: number): number => {
    if (info < 24) return info;
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!size) throw new Error(`CBOR: unsupported additional info ${info}`);
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + buf[pos++]!;
    return v;
  };
  const item = (): unknown => {
    const first = buf[pos++];
    if (first === undefined) throw new Error('CBOR: truncated');
    const major = first >> 5;
    const info = first & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22 || info === 23) return null;
      if (info === 25) {
        const v = buf.readUInt16BE(pos);
        pos += 2;
        const exp = (v >> 10) & 0x1f;
        const mant = v & 0x3ff;
        const mag = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant ? NaN : Infinity) : (1 + mant / 1024) * 2 ** (exp - 15);
        return v & 0x8000 ? -mag : mag;
      }
      if (info === 26) {
        pos += 4;
        return buf.readFloatBE(pos - 4);
      }
      if (info === 27) {
        pos += 8;
        return buf.readDoubleBE(pos - 8);
      }
      throw new Error(`CBOR: unsupported simple value ${info}`);
    }
    const indefinite = info === 31 && major >= 2 && major <= 5;
    const n = indefinite ? -1 : readUint(info);
    const isBreak = () => buf[pos] === 0xff && (pos++, true);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
      case 3: {
        const chunks: Buffer[] = [];
        if (indefinite) while (!isBreak()) chunks.push(item() as Buffer);
        else {
          chunks.push(buf.subarray(pos, pos + n));
          pos += n;
        }
        const joined = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
        return major === 2 ? joined : joined.toString('utf8');
      }
      case 4: {
        const arr: unknown[] = [];
        if (indefinite) while (!isBreak()) arr.push(item());
        else for (let i = 0; i < n; i++) arr.push(item());
        return arr;
      }
      case 5: {
        const map = new Map<unknown, unknown>();
        const entry = () => {
          const k = item();
          map.set(k, item());
        };
        if (indefinite) while (!isBreak()) entry();
        else for (let i = 0; i < n; i++) entry();
        // text-keyed maps read more easily as objects
        if ([...map.keys()].every((k) => typeof k === 'string')) return Object.fromEntries(map);
        return map;
      }
      case 6:
        return new CborTag(n, item());
      default:
        throw new Error(`CBOR: bad major type ${major}`);
    }
  };
  const value = item();
  return value;
}

/** CBOR encoding of the few types a COSE Sig_structure needs: text, bytes, arrays */
function encodeCbor(value: string | Buffer | (string | Buffer)[]): Buffer {
  const head = (major: number, n: number): Buffer => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map((v) => encodeCbor(v))]);
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, b.length), b]);
  }
  return Buffer.concat([head(2, value.length), value]);
}

// --- boxes ---

interface RawBox {
  type: string;
  start: number;
  headerSize: number;
  end: number;
}

/** ISO BMFF / JUMBF box headers: LBox(32) TBox(4cc) [XLBox(64) when LBox = 1; LBox = 0: to the end] */
export function listBoxes(buf: Buffer, start = 0, end = buf.length): RawBox[] {
  const boxes: RawBox[] = [];
  let pos = start;
  while (pos + 8 <= end) {
    let size = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let headerSize = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(pos + 8));
      headerSize = 16;
    } else if (size === 0) size = end - pos;
    if (size < headerSize || pos + size > end) throw new Error(`box ${type} at ${pos} has a bad size ${size}`);
    boxes.push({ type, start: pos, headerSize, end: pos + size });
    pos += size;
  }
  return boxes;
}

export function parseJumbf(buf: Buffer, start = 0, end = buf.length): JumbfBox[] {
  return listBoxes(buf, start, end).map((b) => {
    const body = buf.subarray(b.start + b.headerSize, b.end);
    if (b.type !== 'jumb') return { type: b.type, payload: body, body };
    const [desc, ...rest] = listBoxes(buf, b.start + b.headerSize, b.end);
    if (!desc || desc.type !== 'jumd') throw new Error('JUMBF superbox without a jumd description box');
    const d = buf.subarray(desc.start + desc.headerSize, desc.end);
    const typeUuid = d.subarray(0, 16).toString('hex');
    const toggles = d[16]!;
    let label: string | undefined;
    if (toggles & 0x02) {
      const nul = d.indexOf(0, 17);
      label = d.toString('utf8', 17, nul);
    }
    const children = rest.length ? parseJumbf(buf, rest[0]!.start, b.end) : [];
    return { type: 'jumb', label, typeUuid, children, body };
  });
}

// --- containers ---

/** The JUMBF manifest store from the JPEG's APP11 segments (JPEG XT, ISO 19566-5). */
export function jpegManifestStore(file: Buffer): Buffer | undefined {
  if (file[0] !== 0xff || file[1] !== 0xd8) throw new Error('not a JPEG');
  const byInstance = new Map<number, { seq: number; data: Buffer }[]>();
  let pos = 2;
  while (pos + 4 <= file.length) {
    if (file[pos] !== 0xff) throw new Error(`JPEG: no marker at ${pos}`);
    const marker = file[pos + 1]!;
    if (marker === 0xff) {
      pos++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // start of scan: metadata is before it
    const len = file.readUInt16BE(pos + 2);
    const seg = file.subarray(pos + 4, pos + 2 + len);
    if (marker === 0xeb && seg.toString('latin1', 0, 2) === 'JP') {
      const instance = seg.readUInt16BE(2);
      const seq = seg.readUInt32BE(4);
      let data = seg.subarray(8);
      // every segment after the first repeats the box header (LBox, TBox[, XLBox])
      if (seq > 1) data = data.subarray(data.readUInt32BE(0) === 1 ? 16 : 8);
      const list = byInstance.get(instance) ?? [];
      list.push({ seq, data });
      byInstance.set(instance, list);
    }
    pos += 2 + len;
  }
  for (const parts of byInstance.values()) {
    const jumbf = Buffer.concat(parts.sort((a, b) => a.seq - b.seq).map((p) => p.data));
    const [top] = parseJumbf(jumbf);
    if (top?.label === 'c2pa') return jumbf;
  }
  return undefined;
}

/** The JUMBF manifest store from the top-level C2PA `uuid` box of an MP4/MOV. */
export function bmffManifestStore(file: Buffer): Buffer | undefined {
  for (const box of listBoxes(file)) {
    if (box.type !== 'uuid') continue;
    const p = box.start + box.headerSize;
    if (file.subarray(p, p + 16).toString('hex') !== C2PA_BMFF_UUID) continue;
    // FullBox version+flags, box_purpose (NUL-terminated), then for "manifest": merkle_offset(64), data
    let q = p + 16 + 4;
    const nul = file.indexOf(0, q);
    const purpose = file.toString('utf8', q, nul);
    q = nul + 1;
    if (purpose !== 'manifest') continue;
    return file.subarray(q + 8, box.end);
  }
  return undefined;
}

export function readC2pa(file: Buffer): C2paStore | undefined {
  const isJpeg = file[0] === 0xff && file[1] === 0xd8;
  const jumbf = isJpeg ? jpegManifestStore(file) : bmffManifestStore(file);
  if (!jumbf) return undefined;
  const [store] = parseJumbf(jumbf);
  if (!store || store.label !== 'c2pa') throw new Error('manifest store superbox is not labelled c2pa');
  const manifests = (store.children ?? []).filter((b) => b.type === 'jumb').map(readManifest);
  const active = manifests.at(-1);
  if (!active) throw new Error('empty manifest store');
  return { format: isJpeg ? 'jpeg' : 'bmff', jumbf, manifests, active };
}

function contentOf(box: JumbfBox): { type: string; payload: Buffer } {
  const content = box.children?.find((c) => c.type !== 'jumb');
  if (!content?.payload) throw new Error(`JUMBF box ${box.label ?? '(no label)'} has no content box`);
  return { type: content.type, payload: content.payload };
}

function readManifest(box: JumbfBox): C2paManifest {
  const children = box.children ?? [];
  const claimBox = children.find((c) => c.label === 'c2pa.claim.v2' || c.label === 'c2pa.claim');
  const sigBox = children.find((c) => c.label === 'c2pa.signature');
  const assertionStore = children.find((c) => c.label === 'c2pa.assertions');
  if (!claimBox || !sigBox || !assertionStore) throw new Error(`manifest ${box.label ?? '(no label)'} lacks a claim, signature or assertion store`);
  const claimBytes = contentOf(claimBox).payload;
  const assertions = (assertionStore.children ?? [])
    .filter((a) => a.type === 'jumb')
    .map((a): C2paAssertion => {
      const { type, payload } = contentOf(a);
      const data = type === 'cbor' ? decodeCbor(payload) : type === 'json' ? (JSON.parse(payload.toString('utf8')) as unknown) : payload;
      return { label: a.label ?? '', data, box: a };
    });
  return {
    label: box.label ?? '',
    claimLabel: claimBox.label ?? '',
    claimBytes,
    claim: decodeCbor(claimBytes) as Record<string, unknown>,
    assertions,
    signatureBytes: contentOf(sigBox).payload,
  };
}

// --- checks ---

/**
 * Verify the claim's COSE_Sign1 (detached payload = the claim bytes) with node:crypto, ES256 only.
 * Returns the signer's certificate (first of x5chain).
 */
export function verifyClaimSignature(m: C2paManifest): X509Certificate {
  let cose = decodeCbor(m.signatureBytes);
  if (cose instanceof CborTag) cose = cose.value; // tag 18
  if (!Array.isArray(cose) || cose.length !== 4) throw new Error('signature is not a COSE_Sign1 array');
  const [protectedBytes, unprotected, , signature] = cose as [Buffer, unknown, unknown, Buffer];
  const prot = decodeCbor(protectedBytes) as Map<unknown, unknown>;
  const alg = prot.get(1);
  if (alg !== -7) throw new Error(`expected ES256 (COSE alg -7), got ${String(alg)}`);
  const header = (key: number) => prot.get(key) ?? (unprotected instanceof Map ? unprotected.get(key) : undefined);
  const chain = header(33); // x5chain
  const leafDer = Array.isArray(chain) ? (chain[0] as Buffer) : (chain as Buffer);
  if (!Buffer.isBuffer(leafDer)) throw new Error('no x5chain certificate in the COSE headers');
  const cert = new X509Certificate(leafDer);
  const toBeSigned = encodeCbor(['Signature1', protectedBytes, Buffer.alloc(0), m.claimBytes]);
  const ok = cryptoVerify(
    'sha256',
    toBeSigned,
    { key: createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' })), dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!ok) throw new Error('COSE claim signature does not verify');
  return cert;
}

interface HashedUri {
  url: string;
  hash: Buffer;
  alg?: string;
}

/** Check that every assertion the claim lists is present and hashes to the listed value. */
export function verifyAssertionHashes(m: C2paManifest): string[] {
  const c = m.claim as { created_assertions?: HashedUri[]; gathered_assertions?: HashedUri[]; assertions?: HashedUri[]; alg?: string };
  const refs = [...(c.created_assertions ?? []), ...(c.gathered_assertions ?? []), ...(c.assertions ?? [])];
  if (refs.length === 0) throw new Error('claim lists no assertions');
  const checked: string[] = [];
  for (const ref of refs) {
    const label = ref.url.split('/').at(-1)!;
    const a = m.assertions.find((x) => x.label === label);
    if (!a) throw new Error(`claim lists ${ref.url}, which is not in the assertion store`);
    const alg = (ref.alg ?? c.alg ?? 'sha256').replace('-', '');
    // the hash covers the assertion's superbox contents: its jumd description and content boxes
    const digest = createHash(alg).update(a.box.body).digest();
    if (!digest.equals(ref.hash)) throw new Error(`assertion ${label} does not match its hash in the claim`);
    checked.push(label);
  }
  return checked;
}

/** JPEG hard binding: sha256 over the file minus the exclusion ranges (the APP11 manifest segments). */
export function verifyJpegDataHash(file: Buffer, m: C2paManifest): boolean {
  const a = m.assertions.find((x) => x.label === 'c2pa.hash.data' || x.label.startsWith('c2pa.hash.data.'));
  if (!a) throw new Error('no c2pa.hash.data assertion');
  const d = a.data as { exclusions?: { start: number; length: number }[]; alg?: string; hash: Buffer };
  const alg = (d.alg ?? (m.claim.alg as string | undefined) ?? 'sha256').replace('-', '');
  const hash = createHash(alg);
  let pos = 0;
  for (const ex of [...(d.exclusions ?? [])].sort((x, y) => x.start - y.start)) {
    hash.update(file.subarray(pos, ex.start));
    pos = ex.start + ex.length;
  }
  hash.update(file.subarray(pos));
  return hash.digest().equals(d.hash);
}

/** The byte range of the first top-level box of a type (e.g. `mdat`) in an MP4. */
export function findTopLevelBox(file: Buffer, type: string): { start: number; end: number; dataStart: number } | undefined {
  const b = listBoxes(file).find((x) => x.type === type);
  return b ? { start: b.start, end: b.end, dataStart: b.start + b.headerSize } : undefined;
}
