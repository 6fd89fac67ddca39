import { randomUUID } from 'node:crypto';
import { FakeClock } from '../../../src/server/adapters/clock';
import type { UserRole } from '../../../src/server/db/schema';
import { seedGeneration } from '../../helpers/seed';
import { insertMedia } from '../../../src/server/domain/media/media.repo';
import { addEvidence, openOrExtendCase } from '../../../src/server/domain/moderation/cases.repo';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient } from '../../helpers/client';

/**
 * Legal holds and NCMEC tests (H3): the platform on a FakeClock, users of each role signed in, and
 * material seeded straight into the tables and the store (a succeeded creation with its files, a
 * reference, a case with a quarantined evidence file), so no render or classifier runs.
 */
export interface HoldsApp {
  app: TestApp;
  clock: FakeClock;
  /** a signed-in user of this role, from its own IP address */
  user(email: string, role?: UserRole): Promise<TestClient & { userId: string }>;
  /** a succeeded creation of `userId` with a video and a thumbnail in the store */
  creation(userId: string): Promise<{ id: string; keys: string[] }>;
  /** a live reference of `userId` with its file in the store */
  reference(userId: string): Promise<{ id: string; key: string }>;
  /** an open case about the generation with a quarantined evidence file */
  caseAbout(userId: string, generationId: string | null, opts?: { mediaId?: string }): Promise<{ id: string; evidenceKey: string; evidenceId: string }>;
  exists(key: string): Promise<boolean>;
  close(): Promise<void>;
}

let ip = 0;

export async function startHoldsApp(env: Record<string, string> = {}): Promise<HoldsApp> {
  const clock = new FakeClock();
  const app = await startTestApp({ clock, env: { MODERATION_IMAGE_CLASSIFIER: 'off', SIGNUP_FREE_CREDITS: '0', ...env } });
  const ctx = app.platform.ctx;
  const put = (key: string, text: string, contentType: string) => ctx.store.put(key, Buffer.from(text), { contentType });
  return {
    app,
    clock,
    async user(email, role = 'user') {
      const password = 'a fine password 1';
      const u = await ctx.services.users.create({ email, password, name: 'Hold Test', role });
      const c = new TestClient(app.url, { ip: `198.51.100.${(ip++ % 250) + 1}` });
      const res = await c.post('/api/auth/sign-in/email', { email, password });
      if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
      return Object.assign(c, { userId: u.id });
    },
    async creation(userId) {
      const id = randomUUID();
      await seedGeneration(app.db, userId, { id, prompt: 'a held scene' }, clock.now());
      const video = `generations/${userId}/${id}/video.mp4`;
      const poster = `generations/${userId}/${id}/thumb.jpg`;
      const keys = [video, poster];
      await put(video, `video bytes of ${id}`, 'video/mp4');
      await put(poster, `poster of ${id}`, 'image/jpeg');
      await app.db.sql.query(`update generations set status = 'succeeded', output_url = $2, output_thumbnail_url = $3 where id = $1`, [
        id,
        `store:${video}`,
        `store:${poster}`,
      ]);
      return { id, keys };
    },
    async reference(userId) {
      const id = randomUUID();
      const key = `uploads/${userId}/${id}/file.jpg`;
      await put(key, `reference bytes of ${id}`, 'image/jpeg');
      await insertMedia(app.db, {
        id,
        userId,
        kind: 'image',
        source: 'upload',
        name: 'photo.jpg',
        contentType: 'image/jpeg',
        storageKey: key,
        sizeBytes: 20,
        sha256: 'a'.repeat(64),
        previewKey: null,
        width: 1,
        height: 1,
        durationSeconds: null,
      });
      return { id, key };
    },
    async caseAbout(userId, generationId, opts = {}) {
      return app.db.transaction(async (tx) => {
        const now = clock.now();
        const c = await openOrExtendCase(
          tx,
          { userId, subject: generationId ? 'output' : 'reference', generationId, mediaId: opts.mediaId ?? null },
          { severity: 1, topCategory: 'sexual/minors', action: 'block' },
          now,
        );
        const evidenceId = randomUUID();
        const evidenceKey = `quarantine/${c.id}/${evidenceId}`;
        await put(evidenceKey, `quarantined evidence of ${c.id}`, 'image/jpeg');
        const ev = await addEvidence(
          tx,
          c.id,
          {
            input: generationId ? 'output' : 'reference',
            storageKey: evidenceKey,
            contentType: 'image/jpeg',
            sizeBytes: 30,
            generationId,
            mediaId: opts.mediaId ?? null,
          },
          now,
        );
        return { id: c.id, evidenceKey, evidenceId: ev.id };
      });
    },
    async exists(key) {
      return ctx.store.head(key).then(
        () => true,
        () => false,
      );
    },
    close: () => app.close(),
  };
}
