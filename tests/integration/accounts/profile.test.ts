import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../../helpers/close';
import { signUpVerified, startAccountsApp, type AccountsApp } from './setup';

let a: AccountsApp;
beforeAll(async () => {
  a = await startAccountsApp();
});
afterAll(() => closeAll(a));

describe('profile', () => {
  it('updates name, region and language, validating each', async () => {
    const c = await signUpVerified(a, 'profile@example.com');
    const res = await c.patch('/api/me', { name: 'Grace Hopper', region: 'ES', language: 'es' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ name: 'Grace Hopper', region: 'ES', language: 'es' });
    const bad = await c.patch('/api/me', { region: 'Spain', language: 'klingon' });
    expect(bad.status).toBe(400);
    expect(bad.json().error.message).toMatch(/region/);
    const sneaky = await c.patch('/api/me', { role: 'admin' });
    expect(sneaky.status).toBe(400);
    expect((await c.get('/api/me')).json().role).toBe('user');
  });

  it('sends mail in the preferred language', async () => {
    const c = await signUpVerified(a, 'spanish@example.com', 'a fine password 1', { language: 'es' });
    expect((await c.get('/api/me')).json().language).toBe('es');
    await a.client().post('/api/auth/request-password-reset', { email: 'spanish@example.com', redirectTo: '/reset-password' });
    const mail = await a.smtp.waitFor((m) => m.to.includes('spanish@example.com') && /contraseña/i.test(m.subject));
    expect(mail.text).toMatch(/contraseña/i);
  });

  it('accepts a photo by its content, resizes it and strips its metadata (GPS included)', async () => {
    const c = await signUpVerified(a, 'photo@example.com');
    const jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#3366cc' } })
      .jpeg()
      .withExif({ IFD0: { Make: 'TestCam' }, IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' } })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    // declared as PNG but really a JPEG: the content decides
    const res = await c.put('/api/me/photo', new Uint8Array(jpeg), { 'content-type': 'image/png' });
    expect(res.status).toBe(200);
    const image = res.json().image as string;
    expect(image).toMatch(/^\/api\/me\/photo\?v=[0-9a-f]{16}$/);
    const photo = await c.get(image);
    expect(photo.status).toBe(200);
    expect(photo.headers.get('content-type')).toBe('image/webp');
    const bytes = Buffer.from(await (await fetch(new URL(image, a.app.url), { headers: { cookie: c.cookieHeader() } })).arrayBuffer());
    const meta = await sharp(bytes).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256 });
    expect(meta.exif).toBeUndefined();
    // another user cannot see it
    const other = await signUpVerified(a, 'other-photo@example.com');
    expect((await other.get(image)).status).toBe(404);
    expect((await c.delete('/api/me/photo')).json().image).toBeNull();
  });

  it('refuses files that are not images, whatever their declared type', async () => {
    const c = await signUpVerified(a, 'notimage@example.com');
    const res = await c.put('/api/me/photo', new TextEncoder().encode('#!/bin/sh\necho not an image\n'), { 'content-type': 'image/jpeg' });
    expect(res.status).toBe(415);
    expect(res.json().error.code).toBe('unsupported_image');
    const svg = await c.put('/api/me/photo', new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), {
      'content-type': 'image/svg+xml',
    });
    expect(svg.status).toBe(415);
    const big = await c.put('/api/me/photo', new Uint8Array(5 * 1024 * 1024 + 1), { 'content-type': 'image/png' });
    expect(big.status).toBe(413);
  });
});

describe('per-user authorization', () => {
  it("user B cannot read or change user A's profile or sessions", async () => {
    const alice = await signUpVerified(a, 'alice@example.com');
    const bob = await signUpVerified(a, 'bob@example.com');
    const aliceSessions = (await alice.get('/api/me/sessions')).json().sessions as { id: string }[];
    expect((await bob.get('/api/me')).json().email).toBe('bob@example.com');
    // Bob's list holds only Bob's sessions
    const bobSessions = (await bob.get('/api/me/sessions')).json().sessions as { id: string }[];
    expect(bobSessions.map((s) => s.id)).not.toContain(aliceSessions[0]!.id);
    // Bob cannot end Alice's session
    const attempt = await bob.delete(`/api/me/sessions/${aliceSessions[0]!.id}`);
    expect(attempt.status).toBe(404);
    expect((await alice.get('/api/me')).status).toBe(200);
    // Bob's "sign out everywhere else" does not touch Alice
    await bob.post('/api/me/sessions/revoke-others', {});
    expect((await alice.get('/api/me')).status).toBe(200);
    // Bob's profile change changes only Bob
    await bob.patch('/api/me', { name: 'Robert' });
    expect((await alice.get('/api/me')).json().name).toBe('Test User');
  });

  it('ends one of your own sessions, and everything else on request', async () => {
    const one = await signUpVerified(a, 'multi@example.com', 'many places phrase 1');
    const two = a.client();
    await two.post('/api/auth/sign-in/email', { email: 'multi@example.com', password: 'many places phrase 1' });
    const three = a.client();
    await three.post('/api/auth/sign-in/email', { email: 'multi@example.com', password: 'many places phrase 1' });
    const list = (await one.get('/api/me/sessions')).json().sessions as { id: string; current: boolean }[];
    const twoId = (await two.get('/api/me/sessions')).json().sessions.find((s: { current: boolean }) => s.current).id as string;
    expect(list.map((s) => s.id)).toContain(twoId);
    expect((await one.delete(`/api/me/sessions/${twoId}`)).status).toBe(204);
    expect((await two.get('/api/me')).status).toBe(401);
    expect((await one.post('/api/me/sessions/revoke-others', {})).status).toBe(204);
    expect((await three.get('/api/me')).status).toBe(401);
    expect((await one.get('/api/me')).status).toBe(200);
  });
});
