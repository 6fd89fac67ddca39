import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { signUpVerified, startAccountsApp } from '../integration/accounts/setup';

// Privacy policy section 5: rights and choices.
describe('5 Your rights and choices', () => {
  it.todo('5 a user can view profile, generation history and order records');
  it.todo("5 a structured export of a user's data can be produced on request");
  it('5 a user can correct name, photo, region and language', async () => {
    const a = await startAccountsApp();
    try {
      const c = await signUpVerified(a, 'correct@example.com');
      const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff8800' } })
        .png()
        .toBuffer();
      expect((await c.put('/api/me/photo', new Uint8Array(png), { 'content-type': 'image/png' })).status).toBe(200);
      const me = (await c.patch('/api/me', { name: 'Corrected Name', region: 'CA', language: 'es' })).json();
      expect(me).toMatchObject({ name: 'Corrected Name', region: 'CA', language: 'es', image: expect.stringMatching(/^\/api\/me\/photo/) });
    } finally {
      await a.close();
    }
  });
  it.todo('5 account deletion removes profile, generation files and sessions, keeping only what law requires');
  it.todo('5 product emails carry an unsubscribe link that works');
});
