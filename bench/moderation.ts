import { createHash } from 'node:crypto';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createBuiltinImageClassifier, type BuiltinImageClassifier } from '../src/server/adapters/moderation/builtin-image';
import { decodeRgb } from '../src/server/adapters/moderation/decode';
import { sampleFrames, SINGLE_PASS_MAX_SECONDS } from '../src/server/adapters/moderation/frames';
import { hammingDistance, HammingIndex } from '../src/server/adapters/moderation/hash-index';
import { HashListMatcher } from '../src/server/adapters/moderation/hash-matcher';
import { PDQ_DEFAULT_THRESHOLD, pdqToHex } from '../src/server/adapters/moderation/pdq';
import { ffmpegPath, runTool } from '../src/server/lib/ffmpeg';
import pino from 'pino';
import { openDatabase } from '../src/server/db/client';
import { migrate } from '../src/server/db/migrate';
import { createListsService } from '../src/server/domain/moderation/lists.service';
import { createScreener, type ScreenerConfig } from '../src/server/domain/moderation/screen';
import { startFakeOpenAiModeration } from '../tests/fakes/openai-moderation';
import { generatedImage, generatedVideo, removeGeneratedImages } from '../tests/contract/moderation-images';

/**
 * `npm run bench -- moderation`: what screening media costs on this machine (issue 16), each figure
 * beside a baseline run the same way:
 * - the built-in image classifier (nsfwjs MobileNetV2): cold load, then per image on the WebAssembly
 *   backend (used) against the pure JavaScript CPU backend, and the longest event-loop stall while
 *   it works (the model runs in a worker thread);
 * - frame sampling for an output video (5 frames of a 10 s 720p clip), in one pass and by seeking,
 *   against decoding the whole clip;
 * - hashing an image (SHA-256 + PDQ) against SHA-256 alone;
 * - matching a PDQ hash against 100k listed hashes: the multi-index table against a linear scan.
 * BENCH_IMAGES (default 20) images per classifier figure.
 */
const IMAGES = Number(process.env.BENCH_IMAGES ?? 20);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const us = (x: number) => `${(x * 1000).toFixed(1)} µs`;
const ratio = (a: number, b: number) => `${(b / a).toFixed(1)}×`;

async function timeEach<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (const item of items) {
    const t = performance.now();
    await fn(item);
    out.push(performance.now() - t);
  }
  return out;
}

async function classifierFigures(images: { bytes: Uint8Array; mime: string }[]) {
  const run = async (backend: 'wasm' | 'cpu', count: number) => {
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const classifier: BuiltinImageClassifier = createBuiltinImageClassifier({ backend });
    const info = await classifier.warm();
    const coldMs = performance.now() - t0;
    const rssMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const first = performance.now();
    await classifier.classifyImage(images[0]!);
    const firstMs = performance.now() - first;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const times = await timeEach(images.slice(0, count), (img) => classifier.classifyImage(img));
    loop.disable();
    await classifier.close();
    return { info, coldMs, rssMB, firstMs, perImage: median(times), stallMs: loop.max / 1e6 };
  };
  const decode = median(await timeEach(images, (img) => decodeRgb(img, { resize: { width: 224, height: 224 } })));
  const wasm = await run('wasm', images.length);
  const cpu = await run('cpu', Math.min(3, images.length));
  console.log(`built-in image classifier (nsfwjs ${wasm.info.model}, in a worker thread; decode + resize to 224² with sharp: ${ms(decode)} per image)`);
  console.log(
    `  wasm${wasm.info.simd ? ' (SIMD)' : ''} (used)   cold load ${ms(wasm.coldMs)} (RSS +${wasm.rssMB.toFixed(0)} MB), first image ${ms(wasm.firstMs)}, then ${ms(wasm.perImage)} per image (median of ${images.length}); longest event-loop stall meanwhile ${ms(wasm.stallMs)}`,
  );
  console.log(
    `  cpu, pure JS (baseline) cold load ${ms(cpu.coldMs)}, first image ${ms(cpu.firstMs)}, then ${ms(cpu.perImage)} per image (median of ${Math.min(3, images.length)}): wasm is ${ratio(wasm.perImage, cpu.perImage)} faster per image`,
  );
  return wasm.perImage;
}

async function frameFigures() {
  const video = await generatedVideo('testsrc2=size=1280x720:rate=24:duration=10');
  const runs = [1, 2, 3];
  const onePass = median(await timeEach(runs, () => sampleFrames(video, { count: 5, maxSide: 512, strategy: 'single-pass' })));
  const seeking = median(await timeEach(runs, () => sampleFrames(video, { count: 5, maxSide: 512, strategy: 'seek' })));
  const full = median(
    await timeEach(runs, () => runTool(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-i', video, '-f', 'null', '-'], { timeoutMs: 120_000 })),
  );
  console.log('frame sampling for an output video (10 s, 1280×720, H.264 with libx264 defaults: one keyframe), 5 frames ≤512 px JPEG');
  console.log(`  one decoding pass (used up to ${SINGLE_PASS_MAX_SECONDS} s)  ${ms(onePass)} per video (median of ${runs.length})`);
  console.log(`  a seek per frame (used beyond)        ${ms(seeking)}: ${(seeking / onePass).toFixed(2)}× one pass`);
  console.log(`  decoding the whole clip (baseline)    ${ms(full)}: one pass costs ${(onePass / full).toFixed(2)}× a full decode`);
  return onePass;
}

async function hashFigures(images: { bytes: Uint8Array; mime: string }[]) {
  const matcher = new HashListMatcher();
  const both = median(await timeEach(images, (img) => matcher.hashesOf(img)));
  const sha = median(await timeEach(images, async (img) => createHash('sha256').update(img.bytes).digest('hex')));
  console.log(`hashing an image (1280×720 JPEG, ${(images[0]!.bytes.length / 1024).toFixed(0)} KB)`);
  console.log(`  SHA-256 + PDQ (decode, ≤512², filter, DCT) (used)  ${ms(both)} per image (median of ${images.length})`);
  console.log(`  SHA-256 alone (baseline)                          ${ms(sha)}`);
  return both;
}

function matchFigures() {
  const n = 100_000;
  let seed = 1;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const hashes = Array.from({ length: n }, () => Uint8Array.from({ length: 32 }, rnd));
  const heapBefore = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  const index = new HammingIndex(hashes, 32);
  const buildMs = performance.now() - t0;
  const indexMB = (process.memoryUsage().arrayBuffers - heapBefore) / 2 ** 20;
  // queries: listed hashes with 0..31 bits flipped (hits) and fresh random hashes (misses)
  const queries = Array.from({ length: 2000 }, (_, i) => {
    if (i % 2) return Uint8Array.from({ length: 32 }, rnd);
    const q = hashes[(i * 37) % n]!.slice();
    for (let b = 0; b < i % 32; b++) q[(b * 7) % 32]! ^= 1 << (b % 8);
    return q;
  });
  let hits = 0;
  let t = performance.now();
  for (const q of queries) hits += index.search(q, PDQ_DEFAULT_THRESHOLD).length;
  const indexed = (performance.now() - t) / queries.length;
  let scanHits = 0;
  const scanQueries = queries.slice(0, 200);
  t = performance.now();
  for (const q of scanQueries) for (const h of hashes) if (hammingDistance(h, q) <= PDQ_DEFAULT_THRESHOLD) scanHits++;
  const scan = (performance.now() - t) / scanQueries.length;
  // the matcher end to end (list import from CSV, then match by hash)
  const csv = hashes.map((h) => `${pdqToHex(h)},pdq`).join('\n');
  t = performance.now();
  const matcher = new HashListMatcher();
  matcher.importList({ name: 'bench', category: 'sexual/minors', format: 'csv', content: csv });
  const importMs = performance.now() - t;
  console.log(`matching a PDQ hash against ${n / 1000}k listed hashes (threshold ${PDQ_DEFAULT_THRESHOLD})`);
  console.log(
    `  multi-index table, 16 × 16-bit chunks (used)  ${us(indexed)} per query (${queries.length} queries, ${hits} matches); built in ${ms(buildMs)}, ~${indexMB.toFixed(0)} MB`,
  );
  console.log(
    `  linear scan (baseline)                        ${us(scan)} per query (${scanQueries.length} queries, ${scanHits} matches): the table is ${ratio(indexed, scan)} faster`,
  );
  console.log(`  importing the 100k-line CSV into the matcher (parse + index): ${ms(importMs)}`);
  return indexed;
}

/**
 * The pipeline as the server runs it (domain/moderation/screen.ts): classifiers, hashes, a
 * 100k-entry PDQ list in the database, the policy, and the per-screening list-freshness query, on
 * an in-memory PGlite database.
 */
async function screeningFigures(images: { bytes: Uint8Array; mime: string }[], video: string) {
  const database = await openDatabase({});
  const fake = await startFakeOpenAiModeration();
  try {
    await migrate(database);
    const base: ScreenerConfig = {
      MODERATION_ACTIONS: undefined,
      MODERATION_THRESHOLD: 0.5,
      MODERATION_IMAGE_THRESHOLD: 0.9,
      MODERATION_IMAGE_CLASSIFIER: 'builtin',
      MODERATION_VIDEO_FRAMES: 5,
      OPENAI_MODERATION_API_KEY: undefined,
      OPENAI_MODERATION_BASE_URL: 'https://api.openai.com',
      FFMPEG_PATH: undefined,
      FFPROBE_PATH: undefined,
    };
    const logger = pino({ level: 'silent' });
    const rules = createScreener({ database, config: base, logger });
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const hex = () => Array.from({ length: 32 }, () => rnd().toString(16).padStart(2, '0')).join('');
    const content = Array.from({ length: 100_000 }, hex).join('\n');
    await createListsService({ database, screener: rules }).importHashList('bench', {
      name: 'bench',
      category: 'sexual/minors',
      format: 'text',
      kind: 'pdq',
      content,
      pdqThreshold: 31,
    });
    const prompts = Array.from(
      { length: 200 },
      (_, i) => `a ${['red', 'quiet', 'tall'][i % 3] ?? ''} lighthouse at dusk, waves crashing, cinematic shot number ${i}, 35mm film grain`,
    );
    const perPrompt = median(await timeEach(prompts, (text) => rules.text({ field: 'prompt', text })));
    const withOpenAi = createScreener({ database, config: { ...base, OPENAI_MODERATION_API_KEY: fake.apiKey, OPENAI_MODERATION_BASE_URL: fake.url }, logger });
    const perPromptRemote = median(await timeEach(prompts.slice(0, 50), (text) => withOpenAi.text({ field: 'prompt', text })));
    const freshness = median(await timeEach(prompts.slice(0, 50), () => rules.text({ field: 'prompt', text: '' })));
    await rules.image(images[0]!); // loads the model (its cost is in the classifier figures above)
    const perImage = median(await timeEach(images, (img) => rules.image(img)));
    const runs = [1, 2, 3];
    const perVideo = median(await timeEach(runs, () => rules.video(video)));
    console.log('screening through the pipeline (screen.ts: classifiers + hash lists from the database + policy)');
    console.log(
      `  per prompt, built-in rules                          ${ms(perPrompt)} (median of ${prompts.length}; of which the list-freshness query ~${ms(freshness)})`,
    );
    console.log(`  per prompt, rules + OpenAI (local fake, loopback)   ${ms(perPromptRemote)} (median of 50; the real API adds its network round trip)`);
    console.log(`  per image (1280×720 JPEG): nsfwjs wasm + SHA-256 + PDQ + a 100k-entry list  ${ms(perImage)} (median of ${images.length})`);
    console.log(`  per output video (10 s 720p, 5 frames, each screened as an image, + SHA-256 of the file)  ${ms(perVideo)} (median of ${runs.length})`);
    await Promise.all([rules.close(), withOpenAi.close()]);
  } finally {
    await fake.close();
    await database.close();
  }
}

export async function moderationBench(): Promise<void> {
  console.log(`moderation of media; cores: ${os.cpus().length}; node ${process.version}`);
  try {
    const sources = ['testsrc2', 'mandelbrot', 'testsrc', 'smptehdbars', 'rgbtestsrc'];
    const images = [];
    for (let i = 0; i < IMAGES; i++) images.push(await generatedImage(`${sources[i % sources.length]!}=size=1280x720`, 'jpg', { vf: `hue=h=${i * 17}` }));
    const perImage = await classifierFigures(images);
    const perVideo = await frameFigures();
    const hash = await hashFigures(images);
    const match = matchFigures();
    await screeningFigures(images, await generatedVideo('testsrc2=size=1280x720:rate=24:duration=10'));
    console.log(
      `so: screening an image costs ~${ms(perImage + hash + match)} (classifier + hashes + match); an output video ~${ms(perVideo + 5 * (perImage + hash + match))} (5 frames sampled, each classified, hashed and matched)`,
    );
  } finally {
    await removeGeneratedImages();
  }
}
