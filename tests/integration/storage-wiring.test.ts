import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app';
import { closeAll } from '../helpers/close';

/** The platform's own object store: disk under DATA_DIR by default, served through signed URLs. */
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => closeAll(app));

describe('object store wiring', () => {
  it('stores on disk under DATA_DIR and serves a signed URL on PUBLIC_URL, refusing a tampered one', async () => {
    const store = app.platform.ctx.store;
    expect(store.kind).toBe('disk');
    const put = await store.put('tests/hello.txt', Readable.from([Buffer.from('hello, '), Buffer.from('world')]), { contentType: 'text/plain' });
    expect(put.size).toBe(12);
    const url = await store.signedUrl('tests/hello.txt', { expiresInSeconds: 60, downloadName: 'hello.txt' });
    expect(url.startsWith(`${app.url}/files/tests/hello.txt?`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello, world');
    expect(res.headers.get('content-disposition')).toContain('hello.txt');
    const tampered = url.replace('hello.txt?', 'hello.txx?');
    expect((await fetch(tampered)).status).toBeGreaterThanOrEqual(403);
    const badSig = url.replace(/sig=[^&]+/, 'sig=AAAA');
    expect((await fetch(badSig)).status).toBe(403);
  });
});
