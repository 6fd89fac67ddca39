import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { FilmIcon } from '../../../components/icons';
import { Alert, Button, Dialog, Spinner } from '../../../components/ui';
import { creationsQuery } from '../../../lib/creations';
import { referenceFromCreation, type MediaView } from '../../../lib/uploads';
import { shortPrompt, studioErrorText } from '../shared';

/**
 * "From my creations": the user's finished videos; choosing one makes it a reference (the video
 * itself, or its first frame as an image), made on the server by POST /api/uploads/from-creation.
 */
export function CreationPicker({
  open,
  onClose,
  kinds,
  onPick,
}: {
  open: boolean;
  onClose: () => void;
  kinds: { image: boolean; video: boolean };
  onPick: (name: string, as: 'image' | 'video', work: Promise<MediaView>) => void;
}) {
  const { t, i18n } = useTranslation();
  const [as, setAs] = useState<'image' | 'video'>(kinds.image ? 'image' : 'video');
  const chosenAs = kinds[as] ? as : kinds.image ? 'image' : 'video';
  const list = useInfiniteQuery({ ...creationsQuery({ status: 'succeeded' }), enabled: open });
  const items = list.data?.pages.flatMap((p) => p.items).filter((g) => g.output) ?? [];

  return (
    <Dialog open={open} onClose={onClose} title={t('studio.references.picker.title')} description={t('studio.references.picker.description')} size="lg">
      {kinds.image && kinds.video && (
        <fieldset className="mb-4 flex flex-wrap items-center gap-3">
          <legend className="sr-only">{t('studio.references.picker.as')}</legend>
          {(['image', 'video'] as const).map((k) => (
            <label key={k} className="inline-flex items-center gap-2 text-sm">
              <input type="radio" name="creation-as" checked={chosenAs === k} onChange={() => setAs(k)} className="accent-brand-600" />
              {t(`studio.references.picker.as_${k}`)}
            </label>
          ))}
        </fieldset>
      )}
      {list.isPending ? (
        <p className="flex items-center gap-2 py-6 text-sm" role="status">
          <Spinner className="size-4" />
          {t('ui.loading')}
        </p>
      ) : list.isError ? (
        <Alert tone="error">{studioErrorText(list.error, t, i18n.language)}</Alert>
      ) : items.length === 0 ? (
        <p className="py-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{t('studio.references.picker.empty')}</p>
      ) : (
        <div className="max-h-[55vh] overflow-y-auto">
          <ul className="grid grid-cols-2 gap-2 sm:grid-cols-3" data-testid="creation-picker">
            {items.map((g) => (
              <li key={g.id}>
                <button
                  type="button"
                  onClick={() => onPick(shortPrompt(g.prompt, 40), chosenAs, referenceFromCreation(g.id, chosenAs))}
                  className="group block w-full overflow-hidden rounded-lg border border-zinc-200 text-start hover:border-brand-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand-500 dark:border-zinc-800"
                >
                  <span className="flex aspect-video items-center justify-center bg-zinc-100 dark:bg-zinc-800">
                    {g.output?.thumbnailUrl ? (
                      <img src={g.output.thumbnailUrl} alt="" className="size-full object-cover" />
                    ) : (
                      <FilmIcon className="size-6 text-zinc-400" />
                    )}
                  </span>
                  <span className="line-clamp-2 p-2 text-xs text-zinc-700 dark:text-zinc-300">{g.prompt}</span>
                </button>
              </li>
            ))}
          </ul>
          {list.hasNextPage && (
            <div className="mt-3 flex justify-center">
              <Button size="sm" variant="secondary" onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
                {t('creations.loadMore')}
              </Button>
            </div>
          )}
        </div>
      )}
    </Dialog>
  );
}
