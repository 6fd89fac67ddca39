import { Link } from '@tanstack/react-router';
import type { ReactNode } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { buttonClasses, Spinner } from '../../components/ui';
import { apiOrigin } from '../../lib/developer';
import { useModels, type ModelView } from '../../lib/models';
import { usePageTitle } from '../../lib/usePageTitle';
import { KeyIcon } from '../../components/icons';
import { CodeBlock, PageHeading } from './shared';

const code = 'rounded bg-zinc-100 px-1 py-0.5 font-mono text-[0.85em] text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100';
const link = 'font-medium text-brand-700 hover:underline dark:text-brand-300';

/** The code samples, with the real origin of this installation. */
function samples(origin: string, prompt: string, envComment: string) {
  const base = `${origin}/v1`;
  return {
    env: `export SAVESORA_API_KEY="…"   # ${envComment}`,
    create: [
      `curl ${base}/videos \\`,
      `  -H "Authorization: Bearer $SAVESORA_API_KEY" \\`,
      `  -F model=sora-2 \\`,
      `  -F prompt="${prompt}" \\`,
      `  -F seconds=8`,
    ].join('\n'),
    poll: [`curl ${base}/videos/$VIDEO_ID \\`, `  -H "Authorization: Bearer $SAVESORA_API_KEY"`].join('\n'),
    download: [`curl -L ${base}/videos/$VIDEO_ID/content \\`, `  -H "Authorization: Bearer $SAVESORA_API_KEY" \\`, `  -o video.mp4`].join('\n'),
    node: `import fs from 'node:fs';
import OpenAI from 'openai';

const client = new OpenAI({
  apiKey: process.env.SAVESORA_API_KEY,
  baseURL: '${base}',
});

let video = await client.videos.create({
  model: 'veo-3.1',
  prompt: '${prompt}',
});

// poll until it is done
while (video.status === 'queued' || video.status === 'in_progress') {
  await new Promise((resolve) => setTimeout(resolve, 5000));
  video = await client.videos.retrieve(video.id);
}

if (video.status === 'completed') {
  const content = await client.videos.downloadContent(video.id);
  fs.writeFileSync('video.mp4', Buffer.from(await content.arrayBuffer()));
} else {
  console.error(video.error);
}`,
    python: `import os, time
from openai import OpenAI

client = OpenAI(
    api_key=os.environ["SAVESORA_API_KEY"],
    base_url="${base}",
)

video = client.videos.create(model="kling-3.0", prompt="${prompt}", seconds="8")

while video.status in ("queued", "in_progress"):
    time.sleep(5)
    video = client.videos.retrieve(video.id)

if video.status == "completed":
    client.videos.download_content(video.id).write_to_file("video.mp4")
else:
    print(video.error)`,
  };
}

/** /developers: how to make a first video over the API, with the real origin in every sample. */
export function QuickStartPage() {
  const { t } = useTranslation();
  usePageTitle(`${t('developers.tabs.quickStart')} · ${t('developers.title')}`);
  const origin = apiOrigin();
  const s = samples(origin, t('developers.quickStart.samplePrompt'), t('developers.quickStart.envComment'));

  return (
    <section aria-labelledby="quick-start-title" data-testid="quick-start">
      <PageHeading
        id="quick-start-title"
        title={t('developers.quickStart.title')}
        lead={
          <Trans
            i18nKey="developers.quickStart.lead"
            values={{ base: `${origin}/v1` }}
            components={{ code: <code className={code} />, docs: <a href="/docs" className={link} /> }}
          />
        }
      />

      <ol className="space-y-10">
        <Step n={1} title={t('developers.quickStart.step1.title')}>
          <p>{t('developers.quickStart.step1.body')}</p>
          <Link to="/developers/keys" className={buttonClasses({ variant: 'primary', className: 'mt-3' })} data-testid="quick-start-create-key">
            <KeyIcon className="size-4" />
            {t('developers.quickStart.step1.action')}
          </Link>
          <CodeBlock className="mt-4" title={t('developers.quickStart.shell')} code={s.env} />
        </Step>

        <Step n={2} title={t('developers.quickStart.step2.title')}>
          <p>{t('developers.quickStart.step2.body')}</p>
          <CodeBlock className="mt-3" title="curl · POST /v1/videos" code={s.create} />
          <p className="mt-4">
            <Trans i18nKey="developers.quickStart.step2.poll" components={{ code: <code className={code} /> }} />
          </p>
          <CodeBlock className="mt-3" title="curl · GET /v1/videos/{id}" code={s.poll} />
          <p className="mt-4">
            <Trans i18nKey="developers.quickStart.step2.download" components={{ code: <code className={code} /> }} />
          </p>
          <CodeBlock className="mt-3" title="curl · GET /v1/videos/{id}/content" code={s.download} />
        </Step>

        <Step n={3} title={t('developers.quickStart.step3.title')}>
          <p>
            <Trans i18nKey="developers.quickStart.step3.body" components={{ code: <code className={code} /> }} />
          </p>
          <CodeBlock className="mt-3" title="Node.js · openai" code={s.node} />
          <CodeBlock className="mt-4" title="Python · openai" code={s.python} />
        </Step>

        <Step n={4} title={t('developers.quickStart.step4.title')}>
          <p>
            <Trans i18nKey="developers.quickStart.step4.body" components={{ code: <code className={code} /> }} />
          </p>
          <ModelsTable />
          <p className="mt-4">
            <Trans
              i18nKey="developers.quickStart.step4.more"
              values={{ native: `${origin}/api/v1` }}
              components={{ code: <code className={code} />, docs: <a href="/docs" className={link} /> }}
            />
          </p>
        </Step>
      </ol>
    </section>
  );
}

function Step({ n, title, children }: { n: number; title: string; children: ReactNode }) {
  return (
    <li className="grid gap-x-4 sm:grid-cols-[2rem_minmax(0,1fr)]">
      <span
        className="mb-2 flex size-8 items-center justify-center rounded-full bg-brand-100 text-sm font-semibold text-brand-800 sm:mb-0 dark:bg-brand-500/15 dark:text-brand-200"
        aria-hidden="true"
      >
        {n}
      </span>
      <div className="min-w-0 text-sm leading-relaxed text-zinc-700 dark:text-zinc-300">
        <h3 className="mb-1 text-base font-semibold text-zinc-900 dark:text-white">
          <span className="sr-only">{n}. </span>
          {title}
        </h3>
        {children}
      </div>
    </li>
  );
}

/** The catalog as API users need it: the `model` id and the values `seconds` and `size` map onto. */
function ModelsTable() {
  const { t } = useTranslation();
  const models = useModels();
  if (models.isPending) {
    return (
      <p className="mt-3 flex items-center gap-2 text-zinc-500 dark:text-zinc-400" role="status">
        <Spinner className="size-4" />
        {t('ui.loading')}
      </p>
    );
  }
  if (models.isError || !models.data.length) {
    return (
      <p className="mt-3 text-zinc-500 dark:text-zinc-400">
        <Trans i18nKey="developers.quickStart.modelsUnavailable" components={{ code: <code className={code} /> }} />
      </p>
    );
  }
  const th = 'px-3 py-2 text-start text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400';
  return (
    <div className="relative mt-3 overflow-x-auto rounded-xl border border-zinc-200 dark:border-zinc-800">
      <table className="w-full min-w-[32rem] text-sm" data-testid="api-models">
        <caption className="sr-only">{t('developers.quickStart.modelsCaption')}</caption>
        <thead className="border-b border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-900">
          <tr>
            <th scope="col" className={th}>
              model
            </th>
            <th scope="col" className={th}>
              seconds
            </th>
            <th scope="col" className={th}>
              {t('developers.quickStart.resolutions')}
            </th>
            <th scope="col" className={th}>
              {t('developers.quickStart.aspectRatios')}
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-800">
          {models.data.map((m: ModelView) => (
            <tr key={m.id} className={m.available ? undefined : 'text-zinc-400 dark:text-zinc-500'}>
              <th scope="row" className="px-3 py-2 text-start font-normal">
                <code className={code}>{m.id}</code>
                <span className="ms-2 text-xs text-zinc-500 dark:text-zinc-400">
                  {m.name}
                  {!m.available && ` · ${t('developers.quickStart.unavailable')}`}
                </span>
              </th>
              <td className="px-3 py-2 tabular-nums">{m.durations.join(', ')}</td>
              <td className="px-3 py-2">{m.resolutions.join(', ')}</td>
              <td className="px-3 py-2">{m.aspectRatios.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
