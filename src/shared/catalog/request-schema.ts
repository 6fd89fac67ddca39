import { z } from 'zod';
import { safeText, withoutControlCharacters } from '../api/text';
import type { ModelSpec, ReferenceLimit } from './spec';
import { generationModes, referenceKinds, referenceRoles, type GenerationMode, type ReferenceKind, type ReferenceRole } from './vocabulary';

/**
 * One zod schema per model: `generationSchemaFor(spec)` validates a generation request against
 * that model's limits and turns it into a `GenerationRequest` with every default filled in. Each
 * bad field gets its own message naming the field and what is allowed (`params.allowed`), so the
 * API can answer 400 with a list and the web form can put each message under its field.
 */

export const referenceInput = z.strictObject({
  kind: z.enum(referenceKinds, { error: `must be one of ${referenceKinds.join(', ')}` }),
  role: z.enum(referenceRoles, { error: `must be one of ${referenceRoles.join(', ')}` }).optional(),
  /** an uploaded file of ours (media library) */
  mediaId: safeText().min(1).max(100).optional(),
  /** a public http(s) URL (fetched SSRF-safely by the media pipeline) */
  url: withoutControlCharacters(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048)).optional(),
  /** filled by the server from the stored file; clients may leave them out */
  mimeType: safeText().max(100).optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
  durationSeconds: z.number().nonnegative().optional(),
});
export type ReferenceInput = z.infer<typeof referenceInput>;

/** The request as clients send it (`model` picks the schema). */
export const generationInput = z.strictObject({
  model: safeText({ error: 'is required' }).min(1, { error: 'is required' }).max(100),
  prompt: safeText({ error: 'is required' }),
  mode: z.enum(generationModes, { error: `must be one of ${generationModes.join(', ')}` }).optional(),
  duration: z.number({ error: 'must be a number of seconds' }).optional(),
  resolution: safeText({ error: 'must be a string such as 720p' }).optional(),
  aspectRatio: safeText({ error: 'must be a string such as 16:9' }).optional(),
  audio: z.boolean({ error: 'must be true or false' }).optional(),
  negativePrompt: safeText({ error: 'must be a string' }).optional(),
  seed: z.number({ error: 'must be a whole number' }).int({ error: 'must be a whole number' }).min(0).max(4_294_967_295).optional(),
  references: z.array(referenceInput, { error: 'must be a list' }).max(50, { error: 'at most 50 references' }).optional(),
});
export type GenerationInput = z.input<typeof generationInput>;

export interface GenerationReference {
  kind: ReferenceKind;
  role: ReferenceRole;
  mediaId?: string;
  url?: string;
  mimeType?: string;
  sizeBytes?: number;
  durationSeconds?: number;
}

/** A request that passed its model's schema, with every default filled in. */
export interface GenerationRequest {
  model: string;
  mode: GenerationMode;
  prompt: string;
  negativePrompt?: string;
  durationSeconds: number;
  resolution: string;
  aspectRatio: string;
  audio: boolean;
  seed?: number;
  references: GenerationReference[];
}

export interface FieldIssue {
  /** dotted path of the bad field, e.g. `duration`, `references.3.kind` */
  field: string;
  message: string;
  /** the values the field may take, when it is a choice */
  allowed?: unknown[];
}

const list = (values: readonly unknown[], unit = '') => {
  const shown = values.map((v) => `${String(v)}${unit}`);
  const last = shown.pop() ?? '';
  return shown.length ? `${shown.join(', ')} or ${last}` : last;
};
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const mb = (bytes: number) => `${Math.round(bytes / 1_000_000)} MB`;

/** `@image1`, `@video2`, `@audio1` in a prompt. */
export const mentionPattern = /@(image|video|audio)(\d+)\b/g;

/** The references' mentions in a prompt, e.g. [{kind:'image', index:1}]. */
export function mentionsIn(prompt: string): { kind: ReferenceKind; index: number; text: string }[] {
  return [...prompt.matchAll(mentionPattern)].map((m) => ({ kind: m[1] as ReferenceKind, index: Number(m[2]), text: m[0] }));
}

function inferMode(spec: ModelSpec, refs: ReferenceInput[]): GenerationMode {
  if (refs.length === 0) return 'text-to-video';
  const images = refs.filter((r) => r.kind === 'image');
  const onlyImages = images.length === refs.length;
  if (onlyImages && images.length === 1 && (images[0]?.role ?? 'first_frame') === 'first_frame' && spec.modes.includes('image-to-video')) {
    return 'image-to-video';
  }
  if (onlyImages && images.length === 2 && images.every((r) => r.role !== 'reference') && spec.modes.includes('first-last-frame')) {
    return 'first-last-frame';
  }
  return spec.modes.includes('reference') ? 'reference' : spec.modes.includes('image-to-video') ? 'image-to-video' : 'reference';
}

/** Roles each mode gives its references, in order, when the client leaves them out. */
function roleFor(mode: GenerationMode, index: number): ReferenceRole {
  if (mode === 'image-to-video') return 'first_frame';
  if (mode === 'first-last-frame') return index === 0 ? 'first_frame' : 'last_frame';
  return 'reference';
}

function checkReference(
  spec: ModelSpec,
  ref: ReferenceInput,
  limit: ReferenceLimit,
  add: (field: string, message: string, allowed?: unknown[]) => void,
  at: string,
) {
  if (ref.mimeType !== undefined && !limit.mimeTypes.includes(ref.mimeType)) {
    add(`${at}.mimeType`, `${spec.name} accepts ${ref.kind} files of type ${list(limit.mimeTypes)} (got ${ref.mimeType}).`, limit.mimeTypes);
  }
  if (ref.sizeBytes !== undefined && ref.sizeBytes > limit.maxBytes) {
    add(`${at}.sizeBytes`, `${spec.name} accepts ${ref.kind} files up to ${mb(limit.maxBytes)} (this one is ${mb(ref.sizeBytes)}).`);
  }
  if (ref.durationSeconds !== undefined) {
    if (limit.maxSeconds !== undefined && ref.durationSeconds > limit.maxSeconds) {
      add(`${at}.durationSeconds`, `${spec.name} accepts ${ref.kind} clips up to ${limit.maxSeconds} s (this one is ${ref.durationSeconds.toFixed(1)} s).`);
    }
    if (limit.minSeconds !== undefined && ref.durationSeconds < limit.minSeconds) {
      add(`${at}.durationSeconds`, `${spec.name} needs ${ref.kind} clips of at least ${limit.minSeconds} s (this one is ${ref.durationSeconds.toFixed(1)} s).`);
    }
  }
}

/** The schema of one model. Parse with `.safeParse(body)`; issues carry `params.allowed`. */
export function generationSchemaFor(spec: ModelSpec) {
  return generationInput
    .superRefine((input, ctx) => {
      const add = (field: string, message: string, allowed?: unknown[]) =>
        ctx.addIssue({
          code: 'custom',
          path: field.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
          message,
          params: allowed ? { allowed } : undefined,
        });

      if (input.model !== spec.id) add('model', `This schema is for ${spec.id}.`, [spec.id]);

      const prompt = input.prompt.trim();
      if (!prompt) add('prompt', 'Write a prompt describing the video.');
      else if (prompt.length > spec.promptMaxLength) {
        add('prompt', `${spec.name} accepts prompts up to ${spec.promptMaxLength} characters (this one has ${prompt.length}).`);
      }

      if (input.duration !== undefined && !spec.durations.includes(input.duration)) {
        add('duration', `${spec.name} makes videos of ${list(spec.durations, ' s')} (got ${input.duration} s).`, spec.durations);
      }
      if (input.resolution !== undefined && !spec.resolutions.includes(input.resolution)) {
        add('resolution', `${spec.name} renders at ${list(spec.resolutions)} (got ${input.resolution}).`, spec.resolutions);
      }
      if (input.aspectRatio !== undefined && !spec.aspectRatios.includes(input.aspectRatio)) {
        add('aspectRatio', `${spec.name} supports the aspect ratios ${list(spec.aspectRatios)} (got ${input.aspectRatio}).`, spec.aspectRatios);
      }
      if (input.audio === true && spec.audio === 'never') add('audio', `${spec.name} makes silent videos; leave audio off.`, [false]);
      if (input.audio === false && spec.audio === 'always') add('audio', `${spec.name} always generates sound; it cannot be turned off.`, [true]);
      if (input.negativePrompt !== undefined) {
        if (!spec.negativePrompt) add('negativePrompt', `${spec.name} does not take a negative prompt.`);
        else if (input.negativePrompt.length > 1000) add('negativePrompt', 'The negative prompt can be up to 1000 characters.');
      }
      if (input.seed !== undefined && !spec.seed) add('seed', `${spec.name} does not take a seed.`);

      const refs = input.references ?? [];
      const mode = input.mode ?? inferMode(spec, refs);
      if (!spec.modes.includes(mode)) {
        add('mode', `${spec.name} supports ${list(spec.modes)} (got ${mode}).`, spec.modes);
        return;
      }

      // per-reference checks
      refs.forEach((ref, i) => {
        const at = `references.${i}`;
        if ((ref.mediaId === undefined) === (ref.url === undefined)) add(at, 'Give either mediaId (an uploaded file) or url, not both or neither.');
        const limit = spec.references[ref.kind];
        if (!limit) {
          const kinds = Object.keys(spec.references);
          add(
            `${at}.kind`,
            kinds.length ? `${spec.name} accepts ${list(kinds)} references, not ${ref.kind}.` : `${spec.name} takes no reference files.`,
            kinds,
          );
          return;
        }
        checkReference(spec, ref, limit, add, at);
      });

      // counts per kind, and in total
      for (const kind of referenceKinds) {
        const limit = spec.references[kind];
        const count = refs.filter((r) => r.kind === kind).length;
        if (limit && count > limit.max) {
          add('references', `${spec.name} accepts at most ${plural(limit.max, `${kind} reference`)} (got ${count}).`, [`up to ${limit.max} ${kind}`]);
        }
      }
      if (refs.length > spec.maxReferences) {
        add('references', `${spec.name} accepts at most ${plural(spec.maxReferences, 'reference file')} in all (got ${refs.length}).`);
      }

      // what each mode needs
      const images = refs.filter((r) => r.kind === 'image');
      if (mode === 'text-to-video' && refs.length > 0) {
        add('references', 'Text-to-video takes no references; choose image-to-video, first-last-frame or reference mode.', []);
      }
      if (mode === 'image-to-video' && (images.length !== 1 || refs.length !== 1)) {
        add(
          'references',
          `Image-to-video needs exactly one image (got ${plural(images.length, 'image')} and ${plural(refs.length - images.length, 'other file')}).`,
        );
      }
      if (mode === 'first-last-frame' && (images.length !== 2 || refs.length !== 2)) {
        add('references', `First-and-last-frame needs exactly two images, the first frame then the last (got ${refs.length}).`);
      }
      if (mode === 'reference' && refs.length === 0) add('references', 'Reference mode needs at least one reference file.');

      refs.forEach((ref, i) => {
        const expected = roleFor(mode, i);
        if (ref.role !== undefined && ref.role !== expected) {
          add(`references.${i}.role`, `In ${mode} mode this reference's role is ${expected} (got ${ref.role}).`, [expected]);
        }
      });

      // @image1 / @video1 / @audio1 must name a given reference
      for (const m of mentionsIn(prompt)) {
        const count = refs.filter((r) => r.kind === m.kind).length;
        if (m.index < 1 || m.index > count) {
          add(
            'prompt',
            `The prompt mentions ${m.text}, but ${count === 0 ? `no ${m.kind} references were` : `only ${plural(count, `${m.kind} reference`)} ${count === 1 ? 'was' : 'were'}`} given.`,
          );
        }
      }
    })
    .transform((input): GenerationRequest => {
      const refs = input.references ?? [];
      const mode = input.mode ?? inferMode(spec, refs);
      return {
        model: spec.id,
        mode,
        prompt: input.prompt.trim(),
        ...(input.negativePrompt?.trim() ? { negativePrompt: input.negativePrompt.trim() } : {}),
        durationSeconds: input.duration ?? spec.defaultDuration,
        resolution: input.resolution ?? spec.defaultResolution,
        aspectRatio: input.aspectRatio ?? spec.defaultAspectRatio,
        audio: spec.audio === 'always' ? true : spec.audio === 'never' ? false : (input.audio ?? spec.defaultAudio),
        ...(input.seed !== undefined ? { seed: input.seed } : {}),
        references: refs.map((r, i) => ({ ...r, role: roleFor(mode, i) })),
      };
    });
}

/** zod issues -> one FieldIssue per problem, with allowed values when the schema gave them. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    const field = issue.path.join('.') || 'body';
    const allowed = (issue as { params?: { allowed?: unknown[] } }).params?.allowed;
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `Unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}.`;
    else if (issue.code !== 'custom') message = `${field} ${message}`;
    return { field, message, ...(allowed ? { allowed } : {}) };
  });
}
