import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NormalizedStatus, ProviderFailure, ProviderRequest } from '../provider';
import { exists, localError, writeAtomic } from './common';

/**
 * The tasks on disk, one folder each under `<dataDir>/renders/<upstreamId>/` (the layout is
 * described in ../local.ts). The disk is the source of truth for every process sharing the folder.
 */

const ID_PATTERN = /^local_[0-9a-f]{24}$/;

/** The task id for an idempotency key: same key, same task. */
export const localTaskId = (idempotencyKey: string) => `local_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;

/** A task id, checked. unknown: ids come back from storage and callers, and a wrong one must fail as not_found. */
export function checkId(upstreamId: unknown): string {
  if (typeof upstreamId !== 'string' || !ID_PATTERN.test(upstreamId)) {
    throw localError('not_found', `"${String(upstreamId).slice(0, 80)}" is not a local render id`);
  }
  return upstreamId;
}

/** The files of a task with fixed names. */
export type TaskFileName = 'request.json' | 'output.mp4' | 'poster.jpg' | 'failed.json' | 'canceled' | 'lease' | 'progress';

/** The temporary files of one render attempt (named after its lease token). */
export interface RenderFiles {
  video: string;
  poster: string;
  workDir: string;
}

export interface TaskStore {
  file(id: string, name: TaskFileName): string;
  has(id: string, name: TaskFileName): Promise<boolean>;
  /** create the task's folder and store the accepted request (atomically) */
  createRequest(id: string, request: ProviderRequest): Promise<void>;
  readRequest(id: string): Promise<ProviderRequest>;
  markCanceled(id: string): Promise<void>;
  unmarkCanceled(id: string): Promise<void>;
  writeFailure(id: string, failure: ProviderFailure): Promise<void>;
  /** A final state on disk, if any: succeeded, canceled or failed. */
  finalStatus(id: string): Promise<NormalizedStatus | undefined>;
  /** The progress the rendering process published (0 when it has not written any yet). */
  readProgress(id: string): Promise<number>;
  writeProgress(id: string, percent: number): Promise<void>;
  removeProgress(id: string): Promise<void>;
  renderFiles(id: string, token: string): RenderFiles;
  removeRenderFiles(files: RenderFiles): Promise<void>;
  /** Move a finished render's poster and video into place; the video last: its presence means success. */
  publish(id: string, files: RenderFiles): Promise<void>;
  /** Remove the temporary files of a render a crash interrupted (only while this process owns the task). */
  removeLeftovers(id: string): Promise<void>;
}

/** Temporary names a render uses; only ever removed while this process owns the task. */
const LEFTOVER = /^(output\..+\.tmp\.mp4|poster\..+\.tmp\.jpg|work\..+|\.text-.+|progress(\..+\.tmp)?|lease\..+\.stale)$/;

export function createTaskStore(rendersDir: string): TaskStore {
  const taskDir = (id: string) => path.join(rendersDir, id);
  const file = (id: string, name: TaskFileName) => path.join(taskDir(id), name);

  async function readFailure(id: string): Promise<ProviderFailure | undefined> {
    try {
      const raw = JSON.parse(await fs.readFile(file(id, 'failed.json'), 'utf8')) as Partial<ProviderFailure>;
      return {
        kind: raw.kind ?? 'generation_failed',
        message: raw.message ?? 'the local render failed',
        ...(raw.upstreamCode ? { upstreamCode: raw.upstreamCode } : {}),
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { kind: 'generation_failed', message: 'the local render failed (unreadable failure record)' };
    }
  }

  return {
    file,
    has: (id, name) => exists(file(id, name)),

    async createRequest(id, request) {
      await fs.mkdir(taskDir(id), { recursive: true });
      await writeAtomic(file(id, 'request.json'), JSON.stringify(request));
    },

    async readRequest(id) {
      // a request.json written before references existed has none
      const stored = JSON.parse(await fs.readFile(file(id, 'request.json'), 'utf8')) as Omit<ProviderRequest, 'references'> &
        Partial<Pick<ProviderRequest, 'references'>>;
      return { ...stored, references: stored.references ?? [] };
    },

    markCanceled: (id) => writeAtomic(file(id, 'canceled'), new Date().toISOString()),
    unmarkCanceled: (id) => fs.rm(file(id, 'canceled'), { force: true }),
    writeFailure: (id, failure) => writeAtomic(file(id, 'failed.json'), JSON.stringify(failure)),

    async finalStatus(id) {
      if (await exists(file(id, 'output.mp4'))) {
        const poster = file(id, 'poster.jpg');
        return {
          state: 'succeeded',
          upstreamStatus: 'done',
          output: {
            videoUrl: pathToFileURL(file(id, 'output.mp4')).href,
            ...((await exists(poster)) ? { thumbnailUrl: pathToFileURL(poster).href } : {}),
            contentType: 'video/mp4',
          },
        };
      }
      if (await exists(file(id, 'canceled'))) return { state: 'canceled', upstreamStatus: 'canceled' };
      const failure = await readFailure(id);
      if (failure) return { state: 'failed', upstreamStatus: 'failed', error: failure };
      return undefined;
    },

    async readProgress(id) {
      try {
        const n = Number.parseFloat(await fs.readFile(file(id, 'progress'), 'utf8'));
        return Number.isFinite(n) ? Math.max(0, Math.min(100, Math.round(n))) : 0;
      } catch {
        return 0;
      }
    },
    writeProgress: (id, percent) => writeAtomic(file(id, 'progress'), String(percent)),
    removeProgress: (id) => fs.rm(file(id, 'progress'), { force: true }),

    renderFiles(id, token) {
      const dir = taskDir(id);
      return {
        video: path.join(dir, `output.${token}.tmp.mp4`),
        poster: path.join(dir, `poster.${token}.tmp.jpg`),
        workDir: path.join(dir, `work.${token}`),
      };
    },

    async removeRenderFiles(files) {
      await Promise.all([fs.rm(files.workDir, { recursive: true, force: true }), fs.rm(files.video, { force: true }), fs.rm(files.poster, { force: true })]);
    },

    async publish(id, files) {
      // tidy first, so the task's folder is final the moment the output appears
      await fs.rm(files.workDir, { recursive: true, force: true });
      await fs.rename(files.poster, file(id, 'poster.jpg'));
      await fs.rename(files.video, file(id, 'output.mp4'));
    },

    async removeLeftovers(id) {
      const dir = taskDir(id);
      const names = await fs.readdir(dir).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => LEFTOVER.test(n)).map((n) => fs.rm(path.join(dir, n), { recursive: true, force: true })));
    },
  };
}
