import type { ProviderOutput } from '../../adapters/providers/provider';
import type { GenerationRow } from './generations.repo';

/**
 * The hand-off from a finished upstream task to where users get the video: the media pipeline
 * (media/ingest.ts) copies the output into our object store, probes it, makes a poster and a
 * preview and signs them with C2PA; the task then points at `store:<key>` locations.
 */
export interface StoredOutput {
  videoUrl: string;
  thumbnailUrl: string | null;
  contentType: string | null;
  /** a few seconds, small and silent, for hover previews */
  previewUrl?: string | null;
  /** what ffprobe found in the stored file */
  media?: { durationSeconds: number; width: number; height: number; codec: string; sizeBytes: number; sha256: string };
}

export interface OutputHandoff {
  accept(task: GenerationRow, output: ProviderOutput): Promise<StoredOutput>;
}
