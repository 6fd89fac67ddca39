import { Builder, Reader } from '@contentauth/c2pa-node';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign, X509Certificate, type KeyObject } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { APP_VERSION } from '../../version';

/**
 * Content Credentials (C2PA) for generated media. Every generated video (MP4) and its poster
 * (JPEG) gets an embedded, signed C2PA manifest that says "created by a trained algorithm" (the
 * IPTC `trainedAlgorithmicMedia` digital source type) and by which model, so any C2PA reader can
 * tell the file is AI-generated and by whom.
 *
 * Library: `@contentauth/c2pa-node` 0.8.0 (c2pa-rs 0.90 as a Node addon; it declares node >= 22 but
 * loads and signs on Node 20; 0.9.x cannot install: a dependency is missing). Its npm tarball
 * holds the linux-x64 binary (dist/index.node); its postinstall would download a binary from the
 * internet, so package.json blocks it (`allowScripts` false). Signing runs on the addon's own
 * thread pool (`signConfigAsync`): the event loop is not blocked by hashing, and the private key
 * stays in node:crypto (the addon only sees the bytes to sign and returns nothing secret).
 *
 * Never put the prompt (or any user text) into a manifest: manifests are public, they travel with
 * the file. Only the fields of {@link ProvenanceInfo} are written, one by one.
 */

export const AI_GENERATED_SOURCE_TYPE = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
/** label of our own assertion with the generation details */
export const GENERATION_ASSERTION = 'com.savesora.generation';

export interface ProvenanceInfo {
  generationId: string;
  modelId: string;
  modelName: string;
  provider: string;
  createdAt: Date;
  /** never: the prompt must not go into a manifest (privacy) */
  prompt?: never;
}

export interface Provenance {
  /** Embed a signed manifest into an MP4/MOV (ISO BMFF). `outFile` may equal `inFile`. */
  signVideo(inFile: string, outFile: string, info: ProvenanceInfo): Promise<void>;
  /** Embed a signed manifest into a JPEG (also PNG or WebP). `outFile` may equal `inFile`. */
  signImage(inFile: string, outFile: string, info: ProvenanceInfo): Promise<void>;
}

export interface SigningIdentity {
  /** end-entity certificate first, then any intermediates (PEM) */
  certPem: string;
  /** PKCS#8 or SEC1 PEM of a P-256 key */
  keyPem: string;
  /** for the generated default: the local root that issued the certificate, for a verifier's trust list */
  trustAnchorPem?: string;
}

// ---------------------------------------------------------------------------------------------
// signing

type MediaKind = 'video' | 'image';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function splitCertificates(certPem: string): string[] {
  return certPem.match(PEM_CERT) ?? [];
}

/** Check the certificate and key, and return the signer for generated media. */
export async function createProvenance(opts: { certPem: string; keyPem: string }): Promise<Provenance> {
  let key: KeyObject;
  try {
    key = createPrivateKey(opts.keyPem);
  } catch (err) {
    throw new Error(`C2PA signing key is not a readable PEM private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('C2PA signing key must be an EC P-256 (prime256v1) key for ES256.');
  }
  const pems = splitCertificates(opts.certPem);
  const [leafPem] = pems;
  if (leafPem === undefined) throw new Error('C2PA signing certificate has no PEM certificate in it.');
  const leaf = new X509Certificate(leafPem);
  if (!leaf.checkPrivateKey(key)) {
    throw new Error('C2PA signing key does not belong to the signing certificate (the first certificate in the PEM).');
  }
  const now = Date.now();
  if (Date.parse(leaf.validTo) <= now || Date.parse(leaf.validFrom) > now) {
    throw new Error(`C2PA signing certificate is not valid now (valid ${leaf.validFrom} to ${leaf.validTo}).`);
  }
  // load the native addon now, so a platform without its binary fails at start-up, not per file
  loadNative();
  // the addon wants each certificate as its own PEM buffer, end-entity first
  const certs = pems.map((p) => Buffer.from(`${p}\n`));
  const signerConfig = {
    alg: 'es256' as const,
    certs,
    // COSE structure + signature + the certificate chain, with room to spare
    reserveSize: 4096 + certs.reduce((n, c) => n + c.length, 0),
    directCoseHandling: false,
  };
  // ES256 in COSE is the raw r||s form (IEEE P1363), not DER
  const signBytes = async (data: Buffer) => cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });

  async function signFile(kind: MediaKind, inFile: string, outFile: string, info: ProvenanceInfo): Promise<void> {
    const fields = checkInfo(info);
    const mimeType = await sniffMime(inFile, kind);
    const definition = manifestDefinition(fields, mimeType);
    const builder = Builder.withJson(definition, BUILDER_SETTINGS);
    // an upstream provider may have signed the file already (e.g. its own AI-generated claim):
    // keep that manifest as an ingredient instead of silently dropping it
    if (await hasManifest(inFile, mimeType)) {
      try {
        await builder.addIngredient(JSON.stringify({ title: `upstream.${extensionFor(mimeType)}`, relationship: 'componentOf' }), { path: inFile, mimeType });
      } catch {
        // an upstream manifest the library cannot take in is dropped: ours replaces it
      }
    }
    const tmp = path.join(path.dirname(outFile), `.${path.basename(outFile)}.${process.pid}.${randomBytes(4).toString('hex')}.c2pa.tmp`);
    try {
      await builder.signConfigAsync(signBytes, signerConfig, { path: inFile, mimeType }, { path: tmp, mimeType });
      await fsp.rename(tmp, outFile);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw new Error(`C2PA signing of ${path.basename(inFile)} failed: ${(err as Error).message}`);
    }
  }

  return {
    signVideo: (inFile, outFile, info) => signFile('video', inFile, outFile, info),
    signImage: (inFile, outFile, info) => signFile('image', inFile, outFile, info),
  };
}

const BUILDER_SETTINGS = {
  // the poster is a thumbnail already; an embedded one would triple a small JPEG
  builder: { thumbnail: { enabled: false } },
  verify: { ocsp_fetch: false, remote_manifest_fetch: false },
};

interface InfoFields {
  generationId: string;
  modelId: string;
  modelName: string;
  provider: string;
  createdAt: string;
}

function checkInfo(info: ProvenanceInfo): InfoFields {
  const text = (name: keyof InfoFields, value: unknown): string => {
    if (typeof value !== 'string' || value.trim() === '') throw new Error(`Provenance info needs a non-empty ${name}.`);
    return value;
  };
  if (!(info.createdAt instanceof Date) || Number.isNaN(info.createdAt.getTime())) {
    throw new Error('Provenance info needs a valid createdAt date.');
  }
  // copied field by field: nothing else (no prompt) can reach the manifest
  return {
    generationId: text('generationId', info.generationId),
    modelId: text('modelId', info.modelId),
    modelName: text('modelName', info.modelName),
    provider: text('provider', info.provider),
    createdAt: info.createdAt.toISOString(),
  };
}

function manifestDefinition(f: InfoFields, mimeType: string) {
  return {
    claim_generator_info: [{ name: 'Save Sora', version: APP_VERSION }],
    title: `${f.generationId}.${extensionFor(mimeType)}`,
    format: mimeType,
    assertions: [
      {
        label: 'c2pa.actions',
        // "created": attested by us as the claim generator (not merely gathered from elsewhere)
        created: true,
        data: {
          actions: [
            {
              action: 'c2pa.created',
              digitalSourceType: AI_GENERATED_SOURCE_TYPE,
              softwareAgent: { name: f.modelName, 'com.savesora.model_id': f.modelId, 'com.savesora.provider': f.provider },
              when: f.createdAt,
            },
          ],
        },
      },
      {
        label: GENERATION_ASSERTION,
        created: true,
        data: {
          generationId: f.generationId,
          modelId: f.modelId,
          modelName: f.modelName,
          provider: f.provider,
          createdAt: f.createdAt,
        },
      },
    ],
  };
}

function extensionFor(mimeType: string): string {
  return { 'video/mp4': 'mp4', 'video/quicktime': 'mov', 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' }[mimeType] ?? 'bin';
}

/** The format from the file's first bytes (not its name): MP4/MOV for videos; JPEG, PNG, WebP for images. */
async function sniffMime(file: string, kind: MediaKind): Promise<string> {
  const head = Buffer.alloc(16);
  const fh = await fsp.open(file, 'r');
  try {
    await fh.read(head, 0, 16, 0);
  } finally {
    await fh.close();
  }
  if (kind === 'video') {
    if (head.toString('latin1', 4, 8) === 'ftyp') {
      return head.toString('latin1', 8, 12) === 'qt  ' ? 'video/quicktime' : 'video/mp4';
    }
    throw new Error(`Cannot sign ${path.basename(file)}: C2PA video signing supports MP4/MOV (ISO BMFF) only.`);
  }
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  throw new Error(`Cannot sign ${path.basename(file)}: C2PA image signing supports JPEG, PNG and WebP only.`);
}

async function hasManifest(file: string, mimeType: string): Promise<boolean> {
  try {
    return (await Reader.fromAsset({ path: file, mimeType }, READER_SETTINGS_UNTRUSTED)) !== null;
  } catch {
    // an unreadable upstream manifest is dropped: ours replaces it
    return false;
  }
}

function loadNative(): void {
  try {
    Builder.new();
  } catch (err) {
    throw new Error(
      `The C2PA library (@contentauth/c2pa-node) could not load its native binary on ${process.platform}-${process.arch} ` +
        `(its npm package ships a linux-x64 build only): ${(err as Error).message}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// verification (the library's own validator)

const READER_SETTINGS_UNTRUSTED = { verify: { verify_trust: false, ocsp_fetch: false, remote_manifest_fetch: false } };

export interface ProvenanceCheck {
  /** `absent`: no manifest; `Invalid`: a hash or signature check failed; `Valid`: intact, signer not in the trust list; `Trusted`: intact and signed by a trust anchor's chain */
  state: 'absent' | 'Invalid' | 'Valid' | 'Trusted';
  /** validation failures of the active manifest (e.g. `assertion.bmffHash.mismatch`, `signingCredential.untrusted`) */
  failures: { code: string; explanation?: string }[];
  activeLabel?: string;
  /** assertions of the active manifest as the library decoded them */
  assertions: { label: string; data: unknown }[];
}

interface ReaderJson {
  active_manifest?: string;
  manifests?: Record<string, { assertions?: { label: string; data: unknown }[] }>;
  validation_state?: string;
  validation_status?: { code: string; explanation?: string }[];
  validation_results?: { activeManifest?: { failure?: { code: string; explanation?: string }[] } };
}

/**
 * Read and validate a file's C2PA manifest with the library. With `trustAnchorsPem` the signer's
 * chain is checked against those roots (state `Trusted`); without, a well-formed signature gives
 * `Valid`.
 */
export async function verifyProvenance(file: string, opts: { trustAnchorsPem?: string } = {}): Promise<ProvenanceCheck> {
  const settings = opts.trustAnchorsPem
    ? { trust: { trust_anchors: opts.trustAnchorsPem }, verify: { verify_trust: true, ocsp_fetch: false, remote_manifest_fetch: false } }
    : READER_SETTINGS_UNTRUSTED;
  const reader = await Reader.fromAsset({ path: file }, settings);
  if (!reader) return { state: 'absent', failures: [], assertions: [] };
  const json = reader.json() as unknown as ReaderJson;
  const state = json.validation_state === 'Trusted' || json.validation_state === 'Valid' ? json.validation_state : 'Invalid';
  const failures = (json.validation_results?.activeManifest?.failure ?? json.validation_status ?? []).map((f) => ({
    code: f.code,
    explanation: f.explanation,
  }));
  const active = json.active_manifest ? json.manifests?.[json.active_manifest] : undefined;
  return { state, failures, activeLabel: json.active_manifest, assertions: active?.assertions ?? [] };
}

// ---------------------------------------------------------------------------------------------
// signing identity

const IDENTITY_DIR = 'c2pa';
const CERT_FILE = 'signing-cert.pem';
const KEY_FILE = 'signing-key.pem';
const ANCHOR_FILE = 'trust-anchor.pem';
/** a generated certificate this close to expiry is replaced */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/**
 * The certificate and key to sign with. With `paths` (the settings), both files are read as they
 * are. Without, the embedded default: DATA_DIR/c2pa/{signing-cert,signing-key,trust-anchor}.pem,
 * generated on first use (directory 0700, files 0600) and reused afterwards: a local root
 * (self-signed, its private key thrown away at once) that issued one ES256 end-entity
 * certificate with the C2PA profile (digitalSignature, emailProtection + documentSigning EKU).
 * C2PA readers show it as valid but untrusted; a production instance should set a certificate
 * from a CA on the C2PA trust list.
 */
export async function loadOrCreateSigningIdentity(dataDir: string, paths: { certPath?: string; keyPath?: string } = {}): Promise<SigningIdentity> {
  if (paths.certPath || paths.keyPath) {
    if (!paths.certPath || !paths.keyPath) {
      throw new Error('C2PA signing needs both a certificate path and a key path, or neither (for the generated default).');
    }
    const read = async (file: string, what: string) => {
      try {
        return await fsp.readFile(file, 'utf8');
      } catch (err) {
        throw new Error(`Cannot read the C2PA ${what} ${file}: ${(err as Error).message}`);
      }
    };
    return { certPem: await read(paths.certPath, 'certificate'), keyPem: await read(paths.keyPath, 'key') };
  }

  const dir = path.join(dataDir, IDENTITY_DIR);
  const existing = await readIdentityDir(dir);
  if (existing) {
    const [leafPem] = splitCertificates(existing.certPem);
    if (leafPem === undefined) throw new Error(`The C2PA signing certificate in ${dir} has no PEM certificate in it. Fix or delete the directory.`);
    const validTo = Date.parse(new X509Certificate(leafPem).validTo);
    if (validTo - Date.now() > RENEW_BEFORE_MS) return existing;
    // expired (or nearly): keep the old one aside for the record and make a new one
    await fsp.rename(dir, `${dir}.expired-${new Date().toISOString().replace(/[:.]/g, '-')}`).catch(() => undefined);
  }

  // generate into a private temp directory, then rename it into place: the pair appears at once,
  // and when two processes race, the loser's rename fails and it reads the winner's files
  await fsp.mkdir(dataDir, { recursive: true });
  const tmp = `${dir}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fsp.mkdir(tmp, { mode: 0o700 });
  try {
    const identity = generateIdentity();
    await fsp.writeFile(path.join(tmp, KEY_FILE), identity.keyPem, { mode: 0o600 });
    await fsp.writeFile(path.join(tmp, CERT_FILE), identity.certPem, { mode: 0o600 });
    await fsp.writeFile(path.join(tmp, ANCHOR_FILE), identity.trustAnchorPem, { mode: 0o600 });
    try {
      await fsp.rename(tmp, dir);
      return identity;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      const winner = await readIdentityDir(dir);
      if (!winner) throw err;
      return winner;
    }
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function readIdentityDir(dir: string): Promise<SigningIdentity | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([fsp.readFile(path.join(dir, CERT_FILE), 'utf8'), fsp.readFile(path.join(dir, KEY_FILE), 'utf8')]);
    const trustAnchorPem = await fsp.readFile(path.join(dir, ANCHOR_FILE), 'utf8').catch(() => undefined);
    return trustAnchorPem ? { certPem, keyPem, trustAnchorPem } : { certPem, keyPem };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read the C2PA signing identity in ${dir}: ${(err as Error).message}. Fix or delete the directory.`);
  }
}

function generateIdentity(): Required<SigningIdentity> {
  const instance = randomBytes(4).toString('hex');
  const root = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const notBefore = new Date(now - 3600 * 1000); // tolerate clock skew
  const year = 365 * 24 * 3600 * 1000;
  const rootName = x509Name([
    ['O', 'Save Sora'],
    ['CN', `Save Sora local root ${instance}`],
  ]);
  const leafName = x509Name([
    ['O', 'Save Sora'],
    ['OU', 'Self-hosted instance'],
    ['CN', `Save Sora content credentials ${instance}`],
  ]);
  const rootSki = keyIdentifier(root.publicKey);
  const leafSki = keyIdentifier(leaf.publicKey);
  const rootDer = x509Certificate({
    issuer: rootName,
    subject: rootName,
    notBefore,
    notAfter: new Date(now + 20 * year),
    subjectKey: root.publicKey,
    signingKey: root.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, seq(derBool(true), derInt(Buffer.from([0])))),
      extension(OID.keyUsage, true, derBitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, derOctets(rootSki)),
    ],
  });
  const leafDer = x509Certificate({
    issuer: rootName,
    subject: leafName,
    notBefore,
    notAfter: new Date(now + 10 * year),
    subjectKey: leaf.publicKey,
    signingKey: root.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, seq()),
      extension(OID.keyUsage, true, derBitString(Buffer.from([0x80]), 7)), // digitalSignature
      extension(OID.extKeyUsage, false, seq(derOid(OID.emailProtection), derOid(OID.documentSigning))),
      extension(OID.subjectKeyIdentifier, false, derOctets(leafSki)),
      extension(OID.authorityKeyIdentifier, false, seq(derTagged(0x80, rootSki))),
    ],
  });
  // the root's private key goes out of scope here: nothing else can ever be issued under it
  return {
    certPem: toPem('CERTIFICATE', leafDer),
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    trustAnchorPem: toPem('CERTIFICATE', rootDer),
  };
}

// --- a tiny DER / X.509 v3 writer (ECDSA P-256 with SHA-256 only) ---

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  documentSigning: '1.3.6.1.5.5.7.3.36',
};

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const derTagged = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
const seq = (...parts: Buffer[]) => derTagged(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => derTagged(0x31, Buffer.concat(parts));
const derBool = (v: boolean) => derTagged(0x01, Buffer.from([v ? 0xff : 0x00]));
const derOctets = (b: Buffer) => derTagged(0x04, b);
const derUtf8 = (s: string) => derTagged(0x0c, Buffer.from(s, 'utf8'));
const derBitString = (b: Buffer, unusedBits = 0) => derTagged(0x03, Buffer.concat([Buffer.from([unusedBits]), b]));
function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && ((b[i + 1] ?? 0) & 0x80) === 0) i++;
  const v = b.subarray(i);
  return derTagged(0x02, ((v[0] ?? 0) & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), v]) : v);
}
function derOid(oid: string): Buffer {
  const [first, second, ...rest] = oid.split('.').map(Number);
  if (first === undefined || second === undefined) throw new Error(`invalid OID ${oid}`);
  const out = [40 * first + second];
  for (const p of rest) {
    const chunk = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return derTagged(0x06, Buffer.from(out));
}
function derTime(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '') + 'Z'; // YYYYMMDDHHMMSSZ
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050
  return d.getUTCFullYear() < 2050 ? derTagged(0x17, Buffer.from(digits.slice(2), 'latin1')) : derTagged(0x18, Buffer.from(digits, 'latin1'));
}
function x509Name(rdns: ['CN' | 'O' | 'OU', string][]): Buffer {
  const oid = { CN: OID.commonName, O: OID.organization, OU: OID.organizationalUnit };
  return seq(...rdns.map(([k, v]) => set(seq(derOid(oid[k]), derUtf8(v)))));
}
function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(derOid(oid), derBool(true), derOctets(value)) : seq(derOid(oid), derOctets(value));
}
/** RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed EC point) */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const { x, y } = publicKey.export({ format: 'jwk' });
  if (x === undefined || y === undefined) throw new Error('an EC public key must export x and y');
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')]);
  return createHash('sha1').update(point).digest();
}
function x509Certificate(c: {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  subjectKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}): Buffer {
  const serial = randomBytes(16);
  serial.writeUInt8((serial.readUInt8(0) & 0x7f) | 0x01, 0); // positive, non-zero, 16 bytes
  const algorithm = seq(derOid(OID.ecdsaWithSha256));
  const tbs = seq(
    derTagged(0xa0, derInt(Buffer.from([2]))), // v3
    derInt(serial),
    algorithm,
    c.issuer,
    seq(derTime(c.notBefore), derTime(c.notAfter)),
    c.subject,
    c.subjectKey.export({ type: 'spki', format: 'der' }),
    derTagged(0xa3, seq(...c.extensions)),
  );
  const signature = cryptoSign('sha256', tbs, { key: c.signingKey, dsaEncoding: 'der' });
  return seq(tbs, algorithm, derBitString(signature));
}
function toPem(label: string, der: Buffer): string {
  const b64 = (der.toString('base64').match(/.{1,64}/g) ?? []).join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
