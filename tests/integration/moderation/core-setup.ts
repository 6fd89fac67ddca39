import { randomUUID } from 'node:crypto';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { UserRole } from '../../../src/server/db/schema';
import { seedGeneration } from '../../helpers/seed';
import { addEvent, addEvidence, openOrExtendCase, type CaseAction } from '../../../src/server/domain/moderation/cases.repo';
import type { CaseSubject } from '../../../src/server/db/schema';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';

/**
 * The platform (web role: no workers needed) on a FakeClock, with helpers for the core moderation
 * tests: signed-in users of any role, generations and cases written straight into the tables (the
 * screening pipeline that opens cases in production is tested in pipeline.test.ts).
 */
export interface ModerationApp {
  app: TestApp;
  clock: FakeClock;
  user(email: string, role?: UserRole): Promise<SignedIn>;
  /** signs in again (a fresh client); the raw answer, for refused sign-ins */
  signIn(email: string): Promise<{ client: TestClient; status: number; body: string }>;
  generation(userId: string, status?: string): Promise<string>;
  openCase(opts: {
    userId: string | null;
    subject?: CaseSubject;
    generationId?: string | null;
    severity?: number;
    category?: string | null;
    action?: CaseAction;
    text?: string;
  }): Promise<string>;
  close(): Promise<void>;
}

export type SignedIn = TestClient & { userId: string; email: string };

export const PASSWORD = 'a fine password 1';
let n = 0;

export async function startModerationApp(env: Record<string, string> = {}): Promise<ModerationApp> {
  const clock = new FakeClock();
  const app = await startTestApp({ role: 'web', clock, env: { SIGNUP_FREE_CREDITS: '0', TRUST_PROXY: 'true', ...env } });
  const db = app.db;
  const signInAs = async (email: string) => {
    const client = new TestClient(app.url, { ip: `198.51.100.${(n++ % 250) + 1}` });
    const res = await client.post('/api/auth/sign-in/email', { email, password: PASSWORD });
    return { client, status: res.status, body: res.body };
  };
  return {
    app,
    clock,
    async user(email, role = 'user') {
      const u = await app.platform.ctx.services.users.create({ email, password: PASSWORD, name: 'Mod Test', role });
      const { client, status, body } = await signInAs(email);
      if (status !== 200) throw new Error(`sign-in failed: ${status} ${body}`);
      return Object.assign(client, { userId: u.id, email });
    },
    signIn: signInAs,
    async generation(userId, status = 'succeeded') {
      const id = randomUUID();
      await seedGeneration(db, userId, { id, prompt: 'a quiet lake at dawn' }, clock.now());
      await db.sql.query(`update generations set status = $2 where id = $1`, [id, status]);
      return id;
    },
    async openCase(o) {
      return db.transaction(async (tx) => {
        const c = await openOrExtendCase(
          tx,
          { userId: o.userId, subject: o.subject ?? 'output', generationId: o.generationId ?? null },
          { severity: o.severity ?? 0.8, topCategory: o.category === undefined ? 'violence' : o.category, action: o.action ?? 'flag' },
          clock.now(),
        );
        await addEvent(
          tx,
          c.id,
          { kind: 'classifier', input: 'prompt', source: 'builtin-rules', action: o.action ?? 'flag', scores: { violence: o.severity ?? 0.8 } },
          clock.now(),
        );
        if (o.text) await addEvidence(tx, c.id, { input: 'prompt', text: o.text, generationId: o.generationId ?? null }, clock.now());
        return c.id;
      });
    },
    close: () => app.close(),
  };
}

/** the rows of the audit trail of a case */
export async function eventsOf(app: TestApp, caseId: string) {
  return app.db.sql.query<{
    kind: string;
    action: string | null;
    actor_id: string | null;
    note: string | null;
    details: Record<string, unknown> | null;
    created_at: string;
  }>(`select kind, action, actor_id, note, details, created_at from moderation_events where case_id = $1 order by id`, [caseId]);
}
