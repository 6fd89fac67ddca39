import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { apiFetch } from '../../../lib/api';
import { formatBytes, kindOfFile, knownMedia, rememberMedia, uploadFile, UploadError, type MediaKind, type MediaView } from '../../../lib/uploads';
import type { ModelView } from '../../../lib/models';
import type { DraftReference } from '../../../lib/creations';
import { studioErrorText } from '../shared';
import { newAttachmentKey, type Attachment, type ReferenceSlots } from './model';

/** The extensions of some MIME types, for "Use PNG, JPEG or WebP". */
const typeNames: Record<string, string> = {
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/webp': 'WebP',
  'image/gif': 'GIF',
  'video/mp4': 'MP4',
  'video/quicktime': 'MOV',
  'video/webm': 'WebM',
  'audio/mpeg': 'MP3',
  'audio/wav': 'WAV',
  'audio/x-wav': 'WAV',
  'audio/mp4': 'M4A',
  'audio/aac': 'AAC',
};

export interface Notice {
  id: number;
  text: string;
}

/**
 * The references of the composer: files being uploaded (with progress), ready ones, failed ones,
 * and the messages about files that were refused before anything was sent.
 */
export function useAttachments(model: ModelView | undefined, slots: ReferenceSlots) {
  const { t, i18n } = useTranslation();
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [notices, setNotices] = useState<Notice[]>([]);
  const noticeId = useRef(1);
  // the newest list, for checks made while several files arrive at once
  const current = useRef(attachments);
  // kept after each commit, not while rendering: a render React throws away must not change it
  useLayoutEffect(() => {
    current.current = attachments;
  }, [attachments]);

  // uploads still running when the composer goes away are stopped
  useEffect(() => () => current.current.forEach((a) => a.abort?.()), []);

  const notify = useCallback((texts: string[]) => {
    if (!texts.length) return;
    setNotices((list) => [...list, ...texts.map((text) => ({ id: noticeId.current++, text }))].slice(-5));
  }, []);

  const update = (key: string, patch: Partial<Attachment>) => setAttachments((list) => list.map((a) => (a.key === key ? { ...a, ...patch } : a)));

  const failText = (err: unknown) => {
    const details = err instanceof UploadError ? err.fields.map((f) => f.message) : [];
    const main = studioErrorText(err, t, i18n.language);
    return [main, ...details.filter((d) => d !== main)].join(' ');
  };

  /** Check files against the model's limits, then upload the ones that fit. */
  const addFiles = (files: readonly File[]) => {
    if (!model) return;
    const refused: string[] = [];
    const accepted: Attachment[] = [];
    const list = [...current.current];
    for (const file of files) {
      const kind = kindOfFile(file);
      const limit = kind ? slots.kinds[kind] : undefined;
      const name = file.name || t('studio.references.pasted');
      if (!kind || !limit) {
        const allowed = Object.keys(slots.kinds).map((k) => t(`studio.references.kinds.${k as MediaKind}`));
        refused.push(t('studio.references.errors.kind', { name, model: model.name, kinds: allowed.join(', ') }));
        continue;
      }
      if (file.type && limit.mimeTypes.length && !limit.mimeTypes.includes(file.type)) {
        const types = [...new Set(limit.mimeTypes.map((m) => typeNames[m] ?? m))].join(', ');
        refused.push(t('studio.references.errors.type', { name, types }));
        continue;
      }
      if (file.size > limit.maxBytes) {
        refused.push(
          t('studio.references.errors.size', { name, max: formatBytes(limit.maxBytes, i18n.language), size: formatBytes(file.size, i18n.language) }),
        );
        continue;
      }
      if (file.size === 0) {
        refused.push(t('studio.references.errors.empty', { name }));
        continue;
      }
      const ofKind = list.filter((a) => a.kind === kind).length;
      if (ofKind >= limit.max) {
        refused.push(
          t('studio.references.errors.countKind', { name, count: limit.max, kind: t(`studio.references.kindsPlural.${kind}`, { count: limit.max }) }),
        );
        continue;
      }
      if (list.length >= slots.total) {
        refused.push(t('studio.references.errors.countTotal', { name, count: slots.total }));
        continue;
      }
      const key = newAttachmentKey();
      const handle = uploadFile(file, (fraction) => update(key, { progress: fraction }));
      const attachment: Attachment = { key, kind, name, state: 'uploading', progress: 0, abort: handle.abort };
      list.push(attachment);
      accepted.push(attachment);
      handle.promise.then(
        (media) => update(key, { state: 'ready', progress: 1, media, mediaId: media.id, kind: media.kind, abort: undefined }),
        (err: unknown) => {
          if (err instanceof DOMException && err.name === 'AbortError') return;
          update(key, { state: 'failed', progress: null, error: failText(err), abort: undefined });
        },
      );
    }
    if (accepted.length) setAttachments((l) => [...l, ...accepted]);
    // files dropped again before React re-renders are counted against these ones too
    current.current = list;
    notify(refused);
  };

  /** A reference that the server makes (from a URL or a creation): shown at once, filled in when it answers. */
  const addPending = (kind: MediaKind, name: string, work: Promise<MediaView>): Promise<boolean> => {
    const key = newAttachmentKey();
    setAttachments((l) => [...l, { key, kind, name, state: 'uploading', progress: null }]);
    return work.then(
      (media) => {
        rememberMedia(media);
        update(key, { state: 'ready', progress: 1, media, mediaId: media.id, kind: media.kind, name: media.name ?? name });
        return true;
      },
      (err: unknown) => {
        setAttachments((l) => l.filter((a) => a.key !== key));
        notify([t('studio.references.errors.import', { name, reason: failText(err) })]);
        return false;
      },
    );
  };

  /** References handed over by "Regenerate" or "Use as reference". */
  const setFromDraft = (refs: readonly DraftReference[]) => {
    setAttachments(
      refs.map((r) => {
        const media = r.mediaId ? knownMedia(r.mediaId) : undefined;
        const key = newAttachmentKey();
        // one we have not seen in this visit: its preview and name come from GET /api/uploads/:id
        // (if that fails, the reference still works by its id; it just shows no preview)
        if (r.mediaId && !media) {
          apiFetch<MediaView>(`/api/uploads/${encodeURIComponent(r.mediaId)}`).then(
            (m) => {
              rememberMedia(m);
              update(key, { media: m, name: m.name ?? t(`studio.references.kinds.${m.kind}`) });
            },
            () => undefined,
          );
        }
        return {
          key,
          kind: r.kind,
          name: media?.name ?? r.url ?? t(`studio.references.kinds.${r.kind}`),
          state: 'ready',
          progress: 1,
          media,
          mediaId: r.mediaId,
          url: r.mediaId ? undefined : r.url,
        };
      }),
    );
  };

  const remove = (key: string) => {
    const a = current.current.find((x) => x.key === key);
    a?.abort?.();
    setAttachments((l) => l.filter((x) => x.key !== key));
  };

  const move = (key: string, by: -1 | 1) =>
    setAttachments((l) => {
      const i = l.findIndex((a) => a.key === key);
      const j = i + by;
      const [a, b] = [l[i], l[j]];
      if (!a || !b) return l;
      const next = [...l];
      [next[i], next[j]] = [b, a];
      return next;
    });

  const dismissNotice = (id: number) => setNotices((l) => l.filter((n) => n.id !== id));
  const clearNotices = () => setNotices([]);

  return { attachments, notices, addFiles, addPending, setFromDraft, remove, move, dismissNotice, clearNotices, setAttachments };
}

export type AttachmentsApi = ReturnType<typeof useAttachments>;
