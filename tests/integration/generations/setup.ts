import type { Clock } from '../../../src/server/adapters/clock';
import { appServing, startTestApp, type TestApp } from '../../helpers/app';
import { jobsDone, until } from '../../helpers/wait';
import { generationDispatch, generationFinalize } from '../../../src/server/jobs/names';
import { TestClient } from '../../helpers/client';
import { startFakeFal, type FakeFal } from '../../fakes/fal';
import { startFakeKie, type FakeKie } from '../../fakes/kie';
import type { GenerationView } from '../../../src/shared/api';

/** The platform with the fake KIE and fal servers configured, and helpers to make signed-in users. */
export interface GenerationsApp {
  app: TestApp;
  kie: FakeKie;
  fal: FakeFal;
  /** a verified user with this balance, signed in */
  user(email: string, credits: number): Promise<TestClient & { userId: string }>;
  /** every callback the fakes scheduled has been answered, and the generation jobs they started have run */
  settled(): Promise<void>;
  close(): Promise<void>;
}

let n = 0;

export async function startGenerationsApp(env: Record<string, string> = {}, opts: { role?: 'all' | 'web'; clock?: Clock } = {}): Promise<GenerationsApp> {
  const [kie, fal] = await Promise.all([startFakeKie({ stepMs: 100 }), startFakeFal({ stepMs: 100 })]);
  const app = await startTestApp({
    role: opts.role ?? 'all',
    ...(opts.clock ? { clock: opts.clock } : {}),
    env: {
      KIE_API_KEY: kie.apiKey,
      KIE_BASE_URL: kie.url,
      KIE_UPLOAD_URL: kie.url,
      KIE_WEBHOOK_HMAC_KEY: kie.hmacKey!,
      FAL_KEY: fal.apiKey,
      FAL_QUEUE_URL: fal.url,
      FAL_JWKS_URL: fal.jwksUrl,
      PROVIDER_TIMEOUT_MS: '2000',
      SIGNUP_FREE_CREDITS: '0',
      ...env,
    },
  });
  return {
    app,
    kie,
    fal,
    async user(email, credits) {
      const password = 'a fine password 1';
      const u = await app.platform.ctx.services.users.create({ email, password, name: 'Gen User', credits });
      const c = new TestClient(app.url, { ip: `203.0.113.${(n++ % 250) + 1}` });
      const res = await c.post('/api/auth/sign-in/email', { email, password });
      if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
      return Object.assign(c, { userId: u.id });
    },
    async settled() {
      await Promise.all([kie.settled(), fal.settled()]);
      await jobsDone(app, [generationDispatch.name, generationFinalize.name]);
    },
    async close() {
      await app.close();
      await Promise.allSettled([kie.close(), fal.close()]);
    },
  };
}

const finalStates = ['succeeded', 'failed', 'canceled', 'blocked'];

/** GET /api/generations/:id once it is final: looked at again each time the app announces a change. */
export async function waitFinal(c: TestClient, id: string, timeoutMs = 50_000): Promise<GenerationView> {
  let view: GenerationView | undefined;
  return until(
    async () => {
      view = (await c.get(`/api/generations/${id}`)).json<GenerationView>();
      return finalStates.includes(view.status) && view;
    },
    { app: appServing(c.baseUrl), timeoutMs, recheckMs: 500, what: () => `generation ${id} to end (still ${view?.status ?? 'unseen'})` },
  );
}

/** GET /api/generations/:id until it is under review (an output held by moderation); throws if it ends otherwise. */
export async function waitUnderReview(c: TestClient, id: string, timeoutMs = 50_000): Promise<GenerationView> {
  let view: GenerationView | undefined;
  return until(
    async () => {
      view = (await c.get(`/api/generations/${id}`)).json<GenerationView>();
      if (finalStates.includes(view.status)) throw new Error(`generation ${id} ended ${view.status}, not under review`);
      return view.status === 'under_review' && view;
    },
    { app: appServing(c.baseUrl), timeoutMs, recheckMs: 500, what: () => `generation ${id} under review (still ${view?.status ?? 'unseen'})` },
  );
}

export async function balances(c: TestClient): Promise<{ balance: number; held: number }> {
  const body = (await c.get('/api/credits')).json<{ balance: number; held: number }>();
  return { balance: body.balance, held: body.held };
}
