import type { ProviderOutput } from '../../adapters/providers/provider';
import type { GenerationRow } from './generations.repo';

/**
 * The hand-off from a finished upstream task to where users get the video. This version keeps the
 * provider's location (an upstream URL, or a file:// URL of the local renderer) on the task and
 * serves it through GET /api/generations/:id/video. The media pipeline replaces it with one that
 * copies the output into our object store, probes it and makes a poster.
 */
export interface StoredOutput {
  videoUrl: string;
  thumbnailUrl: string | null;
  contentType: string | null;
}

export interface OutputHandoff {
  accept(task: GenerationRow, output: ProviderOutput): Promise<StoredOutput>;
}

export const keepUpstreamLocation: OutputHandoff = {
  async accept(_task, output) {
    return { videoUrl: output.videoUrl, thumbnailUrl: output.thumbnailUrl ?? null, contentType: output.contentType ?? null };
  },
};
