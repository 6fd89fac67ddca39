import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleMp4 } from '../../../../tests/fakes/media';
import {
  findTopLevelBox,
  readC2pa,
  verifyAssertionHashes,
  verifyClaimSignature,
  verifyJpegDataHash,
  type C2paManifest,
} from '../../../../tests/helpers/c2pa-reader';
import { ffmpegPath, probeMedia, runTool } from '../../lib/ffmpeg';
import {
  AI_GENERATED_SOURCE_TYPE,
  createProvenance,
  GENERATION_ASSERTION,
  loadOrCreateSigningIdentity,
  verifyProvenance,
  type Provenance,
  type ProvenanceInfo,
  type SigningIdentity,
} from './provenance';

let dir: string;
let video: string;
let poster: string;
let identity: SigningIdentity;
let provenance: Provenance;

const info: ProvenanceInfo = {
  generationId: 'gen_01HZPROVENANCE',
  modelId: 'acme/video-2-pro',
  modelName: 'Acme Video 2 Pro',
  provider: 'acme',
  createdAt: new Date('2026-03-01T12:00:00.000Z'),
};
const SECRET_PROMPT = 'a purple elephant whispering my bank password';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provenance-'));
  video = await sampleMp4({ width: 320, height: 240, seconds: 2, audio: true, label: 'provenance' });
  poster = path.join(dir, 'poster.jpg');
  await runTool(ffmpegPath(), ['-y', '-v', 'error', '-ss', '1', '-i', video, '-frames:v', '1', '-q:v', '4', poster], { timeoutMs: 30_000 });
  identity = await loadOrCreateSigningIdentity(path.join(dir, 'data'));
  provenance = await createProvenance(identity);
}, 60_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** ffmpeg decodes every frame without a complaint */
async function decodesCleanly(file: string) {
  const { stderr } = await runTool(ffmpegPath(), ['-v', 'error', '-i', file, '-f', 'null', '-'], { timeoutMs: 30_000 });
  expect(stderr.trim()).toBe('');
}

function expectAiGeneratedManifest(m: C2paManifest, generationId = info.generationId) {
  const actions = m.assertions.find((a) => a.label === 'c2pa.actions' || a.label === 'c2pa.actions.v2');
  expect(actions, 'c2pa.actions assertion').toBeDefined();
  const first = (actions!.data as { actions: Record<string, unknown>[] }).actions[0]!;
  expect(first.action).toBe('c2pa.created');
  expect(first.digitalSourceType).toBe(AI_GENERATED_SOURCE_TYPE);
  expect((first.softwareAgent as { name: string }).name).toBe(info.modelName);
  const gen = m.assertions.find((a) => a.label === GENERATION_ASSERTION);
  expect(gen?.data).toEqual({
    generationId,
    modelId: info.modelId,
    modelName: info.modelName,
    provider: info.provider,
    createdAt: info.createdAt.toISOString(),
  });
  // both are attested by the signer, not just gathered
  const created = (m.claim.created_assertions as { url: string }[]).map((r) => r.url);
  expect(created).toEqual(expect.arrayContaining([expect.stringContaining(actions!.label), expect.stringContaining(GENERATION_ASSERTION)]));
  // independent checks: the claim signature with node:crypto, by our certificate; assertion hashes
  const signer = verifyClaimSignature(m);
  expect(signer.raw.equals(new X509Certificate(identity.certPem).raw)).toBe(true);
  expect(verifyAssertionHashes(m)).toEqual(expect.arrayContaining([actions!.label, GENERATION_ASSERTION]));
}

describe('signing identity', () => {
  it('is generated once in DATA_DIR with 0600 files and reused', async () => {
    const dataDir = path.join(dir, 'data');
    const files = ['signing-cert.pem', 'signing-key.pem', 'trust-anchor.pem'].map((f) => path.join(dataDir, 'c2pa', f));
    for (const f of files) expect(fs.statSync(f).mode & 0o777, f).toBe(0o600);
    expect(fs.statSync(path.join(dataDir, 'c2pa')).mode & 0o777).toBe(0o700);
    const mtimes = files.map((f) => fs.statSync(f).mtimeMs);
    const again = await loadOrCreateSigningIdentity(dataDir);
    expect(again).toEqual(identity);
    expect(files.map((f) => fs.statSync(f).mtimeMs)).toEqual(mtimes);
    // nothing left behind from the atomic create
    expect(fs.readdirSync(dataDir)).toEqual(['c2pa']);
  });

  it('is an ES256 end-entity certificate with the C2PA profile, issued by the local root', () => {
    const leaf = new X509Certificate(identity.certPem);
    const root = new X509Certificate(identity.trustAnchorPem!);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(leaf.ca).toBe(false);
    expect(root.ca).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.4'])); // EKU emailProtection
    expect(Date.parse(leaf.validTo)).toBeGreaterThan(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  });

  it('two processes racing to create it end up with the same identity', async () => {
    const dataDir = path.join(dir, 'race');
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => loadOrCreateSigningIdentity(dataDir)));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(fs.readdirSync(dataDir)).toEqual(['c2pa']);
  });

  it('reads a configured certificate and key, and needs both', async () => {
    const certPath = path.join(dir, 'conf-cert.pem');
    const keyPath = path.join(dir, 'conf-key.pem');
    fs.writeFileSync(certPath, identity.certPem);
    fs.writeFileSync(keyPath, identity.keyPem);
    const configured = await loadOrCreateSigningIdentity(path.join(dir, 'unused'), { certPath, keyPath });
    expect(configured).toEqual({ certPem: identity.certPem, keyPem: identity.keyPem });
    expect(fs.existsSync(path.join(dir, 'unused'))).toBe(false);
    await expect(loadOrCreateSigningIdentity(dir, { certPath })).rejects.toThrow(/both/);
    await expect(loadOrCreateSigningIdentity(dir, { certPath, keyPath: path.join(dir, 'missing.pem') })).rejects.toThrow(/Cannot read the C2PA key/);
  });

  it('refuses a key that does not match the certificate, or is not P-256', async () => {
    const other = await loadOrCreateSigningIdentity(path.join(dir, 'other'));
    await expect(createProvenance({ certPem: identity.certPem, keyPem: other.keyPem })).rejects.toThrow(/does not belong/);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(createProvenance({ certPem: identity.certPem, keyPem: rsa })).rejects.toThrow(/P-256/);
  });
});

describe('signed video', () => {
  let signed: string;
  beforeAll(async () => {
    signed = path.join(dir, 'signed.mp4');
    await provenance.signVideo(video, signed, { ...info, prompt: SECRET_PROMPT } as unknown as ProvenanceInfo);
  });

  it('still probes the same and decodes', async () => {
    const [before, after] = await Promise.all([probeMedia(video), probeMedia(signed)]);
    expect(after.videoCodec).toBe('h264');
    expect(after).toEqual(before);
    await decodesCleanly(signed);
  });

  it('carries a manifest an independent reader finds: AI-generated, by which model, signed by us', () => {
    const store = readC2pa(fs.readFileSync(signed));
    expect(store?.format).toBe('bmff');
    expect(store!.manifests).toHaveLength(1);
    expectAiGeneratedManifest(store!.active);
    expect(store!.active.assertions.map((a) => a.label)).toContain('c2pa.hash.bmff.v3');
  });

  it('never contains the prompt', () => {
    const bytes = fs.readFileSync(signed);
    expect(bytes.includes(Buffer.from(SECRET_PROMPT))).toBe(false);
    expect(bytes.includes(Buffer.from('purple elephant'))).toBe(false);
  });

  it('validates with the library, trusted against the local root', async () => {
    expect((await verifyProvenance(video)).state).toBe('absent');
    const untrusted = await verifyProvenance(signed);
    expect(untrusted).toMatchObject({ state: 'Valid', failures: [] });
    const trusted = await verifyProvenance(signed, { trustAnchorsPem: identity.trustAnchorPem! });
    expect(trusted.state).toBe('Trusted');
  });

  it('fails validation when one byte of the media data is changed', async () => {
    const bytes = fs.readFileSync(signed);
    const mdat = findTopLevelBox(bytes, 'mdat')!;
    const at = Math.floor((mdat.dataStart + mdat.end) / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    const tampered = path.join(dir, 'tampered.mp4');
    fs.writeFileSync(tampered, bytes);
    const check = await verifyProvenance(tampered);
    expect(check.state).toBe('Invalid');
    expect(check.failures.map((f) => f.code)).toContain('assertion.bmffHash.mismatch');
    // the claim itself is untouched, so its signature still verifies: only the binding broke
    expect(() => verifyClaimSignature(readC2pa(bytes)!.active)).not.toThrow();
  });

  it('signs in place, and keeps an upstream manifest as an ingredient', async () => {
    const copy = path.join(dir, 'inplace.mp4');
    fs.copyFileSync(signed, copy); // stands for a provider's output that is signed already
    await provenance.signVideo(copy, copy, { ...info, generationId: 'gen_second' });
    const store = readC2pa(fs.readFileSync(copy))!;
    expect(store.manifests).toHaveLength(2);
    expectAiGeneratedManifest(store.active, 'gen_second');
    const ingredient = store.active.assertions.find((a) => a.label.startsWith('c2pa.ingredient'));
    expect((ingredient?.data as { relationship: string }).relationship).toBe('componentOf');
    expect(await verifyProvenance(copy)).toMatchObject({ state: 'Valid', failures: [] });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    await decodesCleanly(copy);
  });

  it('rejects what is not ISO BMFF, and leaves no output', async () => {
    const out = path.join(dir, 'nope.mp4');
    await expect(provenance.signVideo(poster, out, info)).rejects.toThrow(/MP4\/MOV/);
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('signed poster', () => {
  let signed: string;
  beforeAll(async () => {
    signed = path.join(dir, 'signed.jpg');
    await provenance.signImage(poster, signed, { ...info, prompt: SECRET_PROMPT } as unknown as ProvenanceInfo);
  });

  it('still decodes as the same JPEG', async () => {
    const [before, after] = await Promise.all([probeMedia(poster), probeMedia(signed)]);
    expect(after).toMatchObject({ videoCodec: 'mjpeg', width: before.width, height: before.height });
    await decodesCleanly(signed);
    // no embedded thumbnail: the manifest adds a few KB, not a second image
    expect(fs.statSync(signed).size - fs.statSync(poster).size).toBeLessThan(16_000);
  });

  it('carries a manifest an independent reader finds, bound to the image bytes', () => {
    const bytes = fs.readFileSync(signed);
    const store = readC2pa(bytes);
    expect(store?.format).toBe('jpeg');
    expectAiGeneratedManifest(store!.active);
    expect(verifyJpegDataHash(bytes, store!.active)).toBe(true);
    expect(bytes.includes(Buffer.from('purple elephant'))).toBe(false);
  });

  it('fails validation when one byte of the image data is changed', async () => {
    const bytes = fs.readFileSync(signed);
    const at = bytes.length - 100; // inside the entropy-coded scan, before EOI
    bytes[at] = bytes[at]! ^ 0x01;
    const tampered = path.join(dir, 'tampered.jpg');
    fs.writeFileSync(tampered, bytes);
    expect(verifyJpegDataHash(bytes, readC2pa(bytes)!.active)).toBe(false);
    const check = await verifyProvenance(tampered);
    expect(check.state).toBe('Invalid');
    expect(check.failures.map((f) => f.code)).toContain('assertion.dataHash.mismatch');
  });

  it('rejects a video given as an image', async () => {
    await expect(provenance.signImage(video, path.join(dir, 'nope.jpg'), info)).rejects.toThrow(/JPEG, PNG and WebP/);
  });

  it('refuses empty info fields', async () => {
    await expect(provenance.signImage(poster, path.join(dir, 'x.jpg'), { ...info, modelId: '' })).rejects.toThrow(/modelId/);
  });
});
