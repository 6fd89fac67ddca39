import { useId, useRef, useState, type DragEvent, type Ref } from 'react';
import { useTranslation } from 'react-i18next';
import type { GenerationMode } from '../../../../shared/catalog/vocabulary';
import { CloseIcon, FilmIcon, GlobeIcon, ImageIcon, LibraryIcon, MusicIcon, UploadIcon } from '../../../components/icons';
import { Badge, Button } from '../../../components/ui';
import { cn } from '../../../lib/cn';
import { importFromUrl, type MediaKind } from '../../../lib/uploads';
import { CreationPicker } from './CreationPicker';
import { kindLimits, tokensOf, type Attachment, type ReferenceSlots } from './model';
import type { AttachmentsApi } from './useAttachments';

const kindIcons = { image: ImageIcon, video: FilmIcon, audio: MusicIcon } as const;

/** The MIME types the file picker offers, from the kinds this model takes now. */
function acceptOf(slots: ReferenceSlots): string {
  return Object.values(slots.kinds)
    .flatMap((l) => l.mimeTypes)
    .join(',');
}

export interface ReferencesFieldProps {
  mode: GenerationMode;
  slots: ReferenceSlots;
  api: AttachmentsApi;
  /** a message from the server or the submit check, about the references as a whole */
  error?: string;
  /** the group, for moving the focus to it when it has an error */
  groupRef?: Ref<HTMLFieldSetElement>;
}

/**
 * The references of a generation: drop files here, paste an image, pick files, import from a URL,
 * or take one of your creations. Each one shows its preview, its kind and its name for the prompt.
 */
export function ReferencesField({ mode, slots, api, error, groupRef }: ReferencesFieldProps) {
  const { t } = useTranslation();
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [urlOpen, setUrlOpen] = useState(false);
  const [url, setUrl] = useState('');
  const [urlError, setUrlError] = useState<string | undefined>();
  const [importing, setImporting] = useState(false);
  const [pickerOpen, setPickerOpen] = useState(false);
  const tokens = tokensOf(api.attachments);
  const full = api.attachments.length >= slots.total;
  const kinds = Object.keys(slots.kinds) as MediaKind[];
  const canImage = !!slots.kinds.image;
  const canVideo = !!slots.kinds.video;

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const files = Array.from(e.dataTransfer.files);
    if (files.length) api.addFiles(files);
  };

  const importUrl = async () => {
    const value = url.trim();
    let parsed: URL | null = null;
    try {
      parsed = new URL(value);
    } catch {
      parsed = null;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      setUrlError(t('studio.references.url.invalid'));
      return;
    }
    setUrlError(undefined);
    setImporting(true);
    const guess: MediaKind = /\.(mp4|mov|webm|m4v)(\?|$)/i.test(parsed.pathname)
      ? 'video'
      : /\.(mp3|wav|m4a|aac|ogg)(\?|$)/i.test(parsed.pathname)
        ? 'audio'
        : 'image';
    const ok = await api.addPending(slots.kinds[guess] ? guess : (kinds[0] ?? 'image'), value, importFromUrl(value));
    setImporting(false);
    if (ok) {
      setUrl('');
      setUrlOpen(false);
    }
  };

  const hint =
    mode === 'image-to-video'
      ? t('studio.references.hint.imageToVideo')
      : mode === 'first-last-frame'
        ? t('studio.references.hint.firstLast')
        : t('studio.references.hint.reference', { count: slots.total });

  return (
    <fieldset
      ref={groupRef}
      tabIndex={-1}
      className="space-y-3 outline-none"
      aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
      data-testid="references"
    >
      <legend className="mb-1.5 text-sm font-medium text-zinc-800 dark:text-zinc-200">{t('studio.references.legend')}</legend>
      <p id={`${id}-hint`} className="-mt-1 text-xs text-zinc-500 dark:text-zinc-400">
        {hint}{' '}
        {kindLimits(slots)
          .map(([kind, { max }]) => t('studio.references.limit', { kind: t(`studio.references.kindsPlural.${kind}`, { count: max }), count: max }))
          .join(' · ')}
      </p>

      {api.attachments.length > 0 && (
        <ul className="grid grid-cols-2 gap-2 sm:grid-cols-3" data-testid="reference-list">
          {api.attachments.map((a, i) => (
            <AttachmentChip
              key={a.key}
              attachment={a}
              token={tokens.get(a.key) ?? ''}
              role={
                mode === 'first-last-frame' ? (i === 0 ? t('studio.references.firstFrame') : i === 1 ? t('studio.references.lastFrame') : undefined) : undefined
              }
              onRemove={() => api.remove(a.key)}
              onMove={api.attachments.length > 1 ? (by) => api.move(a.key, by) : undefined}
              first={i === 0}
              last={i === api.attachments.length - 1}
            />
          ))}
        </ul>
      )}

      {!full && (
        <div
          onDragEnter={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragOver={(e) => {
            e.preventDefault();
            e.dataTransfer.dropEffect = 'copy';
          }}
          onDragLeave={(e) => {
            if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
          }}
          onDrop={onDrop}
          className={cn(
            'flex flex-col items-center gap-3 rounded-xl border-2 border-dashed px-4 py-5 text-center transition-colors',
            dragging ? 'border-brand-500 bg-brand-50 dark:border-brand-400 dark:bg-brand-950/40' : 'border-zinc-300 dark:border-zinc-700',
          )}
          data-testid="reference-dropzone"
        >
          <UploadIcon className="size-6 text-zinc-400" />
          <p className="text-sm text-zinc-600 dark:text-zinc-400">{t('studio.references.drop')}</p>
          <div className="flex flex-wrap justify-center gap-2">
            <Button size="sm" variant="secondary" onClick={() => inputRef.current?.click()}>
              <UploadIcon className="size-4" />
              {t('studio.references.choose')}
            </Button>
            <Button size="sm" variant="secondary" aria-expanded={urlOpen} aria-controls={`${id}-url`} onClick={() => setUrlOpen((o) => !o)}>
              <GlobeIcon className="size-4" />
              {t('studio.references.fromUrl')}
            </Button>
            {(canImage || canVideo) && (
              <Button size="sm" variant="secondary" onClick={() => setPickerOpen(true)}>
                <LibraryIcon className="size-4" />
                {t('studio.references.fromCreations')}
              </Button>
            )}
          </div>
          <input
            ref={inputRef}
            type="file"
            multiple={slots.total > 1}
            accept={acceptOf(slots)}
            className="sr-only"
            tabIndex={-1}
            aria-label={t('studio.references.choose')}
            data-testid="reference-file-input"
            onChange={(e) => {
              const files = Array.from(e.target.files ?? []);
              e.target.value = '';
              if (files.length) api.addFiles(files);
            }}
          />
        </div>
      )}

      {urlOpen && !full && (
        <div id={`${id}-url`} className="flex flex-col gap-1.5">
          <label htmlFor={`${id}-url-input`} className="text-sm font-medium text-zinc-800 dark:text-zinc-200">
            {t('studio.references.url.label')}
          </label>
          <div className="flex gap-2">
            <input
              id={`${id}-url-input`}
              type="url"
              inputMode="url"
              autoComplete="off"
              spellCheck={false}
              placeholder="https://"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  void importUrl();
                }
              }}
              aria-invalid={urlError ? true : undefined}
              aria-describedby={urlError ? `${id}-url-error` : undefined}
              className={cn(
                'h-10 min-w-0 flex-1 rounded-lg border bg-white px-3 text-sm text-zinc-900 shadow-sm focus:outline-2 dark:bg-zinc-900 dark:text-zinc-100',
                urlError ? 'border-red-500 focus:outline-red-500' : 'border-zinc-300 focus:border-brand-500 focus:outline-brand-500/40 dark:border-zinc-700',
              )}
            />
            <Button variant="secondary" onClick={() => void importUrl()} loading={importing}>
              {t('studio.references.url.add')}
            </Button>
          </div>
          {urlError && (
            <p id={`${id}-url-error`} className="text-xs font-medium text-red-600 dark:text-red-400">
              {urlError}
            </p>
          )}
        </div>
      )}

      {api.notices.length > 0 && (
        <ul className="space-y-1" role="alert" data-testid="reference-notices">
          {api.notices.map((n) => (
            <li key={n.id} className="flex items-start gap-2 rounded-lg bg-red-50 px-3 py-2 text-xs text-red-900 dark:bg-red-950/40 dark:text-red-100">
              <span className="flex-1">{n.text}</span>
              <button
                type="button"
                onClick={() => api.dismissNotice(n.id)}
                className="rounded p-0.5 hover:bg-red-100 dark:hover:bg-red-900/50"
                aria-label={t('ui.dismiss')}
              >
                <CloseIcon className="size-3.5" />
              </button>
            </li>
          ))}
        </ul>
      )}

      {error && (
        <p id={`${id}-error`} className="text-xs font-medium text-red-600 dark:text-red-400" data-testid="references-error">
          {error}
        </p>
      )}

      <CreationPicker
        open={pickerOpen}
        onClose={() => setPickerOpen(false)}
        kinds={{ image: canImage, video: canVideo }}
        onPick={(name, as, work) => {
          setPickerOpen(false);
          void api.addPending(as, name, work);
        }}
      />
    </fieldset>
  );
}

function AttachmentChip({
  attachment: a,
  token,
  role,
  onRemove,
  onMove,
  first,
  last,
}: {
  attachment: Attachment;
  token: string;
  role?: string;
  onRemove: () => void;
  onMove?: (by: -1 | 1) => void;
  first: boolean;
  last: boolean;
}) {
  const { t } = useTranslation();
  const Icon = kindIcons[a.kind];
  const preview = a.media?.previewUrl ?? (a.kind === 'image' ? a.media?.url : undefined);
  const label = role ? `${role}: ${a.name}` : `${token}: ${a.name}`;
  return (
    <li
      className={cn(
        'relative overflow-hidden rounded-lg border bg-white dark:bg-zinc-900',
        a.state === 'failed' ? 'border-red-400 dark:border-red-500' : 'border-zinc-200 dark:border-zinc-800',
      )}
      data-testid="reference"
      data-kind={a.kind}
      data-state={a.state}
      data-media-id={a.mediaId}
    >
      <div className="relative flex aspect-video items-center justify-center bg-zinc-100 dark:bg-zinc-800">
        {preview ? <img src={preview} alt="" className="size-full object-cover" /> : <Icon className="size-7 text-zinc-400" />}
        {a.state === 'uploading' && (
          <div className="absolute inset-x-2 bottom-2">
            <div
              role="progressbar"
              aria-label={t('studio.references.uploading', { name: a.name })}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={a.progress === null ? undefined : Math.round(a.progress * 100)}
              className="h-1.5 overflow-hidden rounded-full bg-white/70 dark:bg-zinc-950/70"
            >
              <div
                className={cn('h-full rounded-full bg-brand-600 transition-[width]', a.progress === null && 'w-1/2 animate-pulse')}
                style={a.progress === null ? undefined : { width: `${Math.max(4, a.progress * 100)}%` }}
              />
            </div>
          </div>
        )}
        <button
          type="button"
          onClick={onRemove}
          className="absolute end-1 top-1 rounded-full bg-zinc-950/60 p-1 text-white hover:bg-zinc-950/80 focus-visible:outline-2 focus-visible:outline-brand-500"
          aria-label={t('studio.references.remove', { name: label })}
          data-testid="reference-remove"
        >
          <CloseIcon className="size-3.5" />
        </button>
      </div>
      <div className="space-y-1 p-2">
        <div className="flex flex-wrap items-center gap-1">
          <Badge tone={a.kind === 'image' ? 'brand' : a.kind === 'video' ? 'success' : 'warning'}>{t(`studio.references.kinds.${a.kind}`)}</Badge>
          {role ? (
            <span className="text-xs font-semibold text-zinc-800 dark:text-zinc-200" data-testid="reference-role">
              {role}
            </span>
          ) : (
            <code className="text-xs font-semibold text-brand-700 dark:text-brand-300" data-testid="reference-token">
              {token}
            </code>
          )}
        </div>
        <p className="truncate text-xs text-zinc-600 dark:text-zinc-400" title={a.name}>
          {a.name}
        </p>
        {a.state === 'failed' && <p className="text-xs font-medium text-red-600 dark:text-red-400">{a.error}</p>}
        {onMove && (
          <div className="flex gap-1">
            <button
              type="button"
              disabled={first}
              onClick={() => onMove(-1)}
              className="rounded px-1.5 text-xs text-zinc-600 hover:bg-zinc-100 disabled:opacity-40 dark:text-zinc-400 dark:hover:bg-zinc-800"
              aria-label={t('studio.references.moveEarlier', { name: label })}
            >
              ←
            </button>
            <button
              type="button"
              disabled={last}
              onClick={() => onMove(1)}
              className="rounded px-1.5 text-xs text-zinc-600 hover:bg-zinc-100 disabled:opacity-40 dark:text-zinc-400 dark:hover:bg-zinc-800"
              aria-label={t('studio.references.moveLater', { name: label })}
            >
              →
            </button>
          </div>
        )}
      </div>
    </li>
  );
}
