import OpenAI, { toFile } from 'openai';
import type { Video } from 'openai/resources/videos';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/close';
import { startGenerationsApp, type GenerationsApp } from './generations/setup';
import { until } from '../helpers/wait';

/** The OpenAI-compatible Videos API, driven by the official `openai` package. */
describe('OpenAI SDK against /v1', () => {
  let g: GenerationsApp;
  let client: OpenAI;
  let secret: string;
  let userId: string;

  const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${g.app.url}/v1`, maxRetries: 0, timeout: 20_000 });

  async function completed(id: string, timeoutMs = 50_000): Promise<Video> {
    let status = '';
    return until(
      async () => {
        const v = await client.videos.retrieve(id);
        status = v.status;
        return (v.status === 'completed' || v.status === 'failed') && v;
      },
      { app: g.app, timeoutMs, recheckMs: 500, what: () => `video ${id} to end (still ${status})` },
    );
  }

  beforeAll(async () => {
    g = await startGenerationsApp({ API_KEY_MAX_IN_FLIGHT: '10', API_RATE_PER_MINUTE: '100000', API_USER_RATE_PER_MINUTE: '100000' });
    const u = await g.user('sdk@example.com', 5000);
    userId = u.userId;
    const key = await g.app.platform.ctx.services.developer.createKey(userId, { name: 'sdk test', scopes: ['videos:read', 'videos:write'] });
    secret = key.secret;
    client = sdk(secret);
  });
  afterAll(() => closeAll(g));

  const made: string[] = [];

  it('creates with sora-2, polls until completed, downloads the MP4 and its thumbnail', async () => {
    const created = await client.videos.create({ model: 'sora-2', prompt: 'A paper boat on a rainy street', seconds: '4', size: '1280x720' });
    expect(created).toMatchObject({
      object: 'video',
      model: 'sora-2',
      status: 'queued',
      progress: 0,
      seconds: '4',
      size: '1280x720',
      remixed_from_video_id: null,
      error: null,
    });
    expect(created.created_at).toBeGreaterThan(1_700_000_000);
    const done = await completed(created.id);
    expect(done).toMatchObject({ id: created.id, status: 'completed', progress: 100, expires_at: null });
    expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
    made.push(done.id);

    const res = await client.videos.downloadContent(done.id);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');

    const thumb = Buffer.from(await (await client.videos.downloadContent(done.id, { variant: 'thumbnail' })).arrayBuffer());
    expect([...thumb.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    await expect(client.videos.downloadContent(done.id, { variant: 'spritesheet' })).rejects.toMatchObject({ status: 400, param: 'variant' });
  });

  it('content answers Range (206 / 416 in the OpenAI error shape), HEAD and If-None-Match like a file server', async () => {
    const id = made[0]!;
    const url = `${g.app.url}/v1/videos/${id}/content`;
    const auth = { authorization: `Bearer ${secret}` };
    const whole = Buffer.from(await (await fetch(url, { headers: auth })).arrayBuffer());

    const part = await fetch(url, { headers: { ...auth, range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-99/${whole.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(0, 100))).toBe(true);
    const tail = await fetch(url, { headers: { ...auth, range: 'bytes=-10' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 10))).toBe(true);

    const head = await fetch(url, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(whole.length));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    const etag = head.headers.get('etag')!;
    expect((await fetch(url, { headers: { ...auth, 'if-none-match': etag } })).status).toBe(304);

    const past = await fetch(url, { headers: { ...auth, range: `bytes=${whole.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`);
    expect(((await past.json()) as { error: { type: string; code: string } }).error).toMatchObject({ code: 'range_not_satisfiable' });
    // without the key there is nothing, whatever the range
    expect((await fetch(url, { headers: { range: 'bytes=0-99' } })).status).toBe(401);
  });

  it("creates with veo-3.1 using the model's defaults", async () => {
    const created = await client.videos.create({ model: 'veo-3.1', prompt: 'A lighthouse at dusk' });
    expect(created).toMatchObject({ model: 'veo-3.1', seconds: '8', size: '1280x720' });
    const done = await completed(created.id);
    expect(done.status).toBe('completed');
    made.push(done.id);
    const bytes = Buffer.from(await (await client.videos.downloadContent(done.id)).arrayBuffer());
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
  });

  it('lists videos page by page with after', async () => {
    const first = await client.videos.list({ limit: 1 });
    expect(first.data).toHaveLength(1);
    expect(first.has_more).toBe(true);
    expect(first.data[0]!.id).toBe(made[1]); // newest first
    const second = await client.videos.list({ limit: 1, after: first.data[0]!.id });
    expect(second.data.map((v) => v.id)).toEqual([made[0]]);
    expect(second.has_more).toBe(false);

    // the SDK's auto-pagination follows last_id
    const all: string[] = [];
    for await (const v of client.videos.list({ limit: 1 })) all.push(v.id);
    expect(all).toEqual([made[1], made[0]]);
    const asc = await client.videos.list({ order: 'asc' });
    expect(asc.data.map((v) => v.id)).toEqual([made[0], made[1]]);
    await expect(client.videos.list({ after: 'not-a-video' })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('remixes a completed video into a linked one', async () => {
    const remix = await client.videos.remix(made[0]!, { prompt: 'The same boat, at night' });
    expect(remix).toMatchObject({ model: 'sora-2', seconds: '4', size: '1280x720', prompt: 'The same boat, at night', remixed_from_video_id: made[0] });
    expect(remix.id).not.toBe(made[0]);
    const done = await completed(remix.id);
    expect(done.status).toBe('completed');
    expect(done.remixed_from_video_id).toBe(made[0]);
  });

  it('deletes a video: then it is gone (404)', async () => {
    const deleted = await client.videos.delete(made[1]!);
    expect(deleted).toEqual({ id: made[1], object: 'video.deleted', deleted: true });
    const err = await client.videos.retrieve(made[1]!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ type: 'invalid_request_error' });
    await expect(client.videos.delete(made[1]!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('deleting a queued video cancels it first', async () => {
    // canceled if the worker has not taken it yet, else refused with 409 until it has finished (the queued case for certain: api-v1.test.ts)
    const v = await client.videos.create({ model: 'local-preview', prompt: 'short-lived', seconds: '2' as never, size: '854x480' as never });
    const outcome = await client.videos.delete(v.id).then(
      (r) => r,
      (e: unknown) => e,
    );
    if (outcome instanceof OpenAI.APIError) {
      expect(outcome.status).toBe(409);
      await completed(v.id);
      expect(await client.videos.delete(v.id)).toMatchObject({ deleted: true });
    } else expect(outcome).toEqual({ id: v.id, object: 'video.deleted', deleted: true });
  });

  it('creates an image-to-video from an input_reference file (local-preview)', async () => {
    const png = await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 200, g: 80, b: 40 } } })
      .png()
      .toBuffer();
    const created = await client.videos.create({
      model: 'local-preview',
      prompt: 'The orange card slowly rotates',
      size: '1280x720',
      seconds: '2' as never,
      input_reference: await toFile(png, 'card.png', { type: 'image/png' }),
    });
    expect(created).toMatchObject({ model: 'local-preview', seconds: '2', size: '1280x720' });
    const [row] = await g.app.db.sql.query<{ mode: string; references: unknown; source: string; api_key_id: string | null }>(
      'select mode, "references", source, api_key_id from generations where id = $1',
      [created.id],
    );
    expect(row!.mode).toBe('image-to-video');
    const refs = (typeof row!.references === 'string' ? JSON.parse(row!.references) : row!.references) as { kind: string; role: string; mediaId?: string }[];
    expect(refs).toMatchObject([{ kind: 'image', role: 'first_frame' }]);
    expect(refs[0]!.mediaId).toBeTruthy();
    expect(row!.api_key_id).toBeTruthy();
    const done = await completed(created.id);
    expect(done.status).toBe('completed');
  });

  it('takes input_reference as an image_url (a data: URL)', async () => {
    const png = await sharp({ create: { width: 320, height: 180, channels: 3, background: { r: 20, g: 80, b: 200 } } })
      .png()
      .toBuffer();
    const created = await client.videos.create({
      model: 'local-preview',
      prompt: 'A blue card',
      size: '854x480' as never,
      seconds: '2' as never,
      input_reference: { image_url: `data:image/png;base64,${png.toString('base64')}` },
    });
    const [row] = await g.app.db.sql.query<{ mode: string }>('select mode from generations where id = $1', [created.id]);
    expect(row!.mode).toBe('image-to-video');
    await completed(created.id);
    await expect(client.videos.create({ prompt: 'x', input_reference: { file_id: 'file-123' } })).rejects.toMatchObject({
      status: 400,
      param: 'input_reference',
    });
  });

  it('refuses what a model cannot make, naming the parameter and the allowed values', async () => {
    const err = await client.videos.create({ model: 'sora-2', prompt: 'x', seconds: '5' as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.param).toBe('seconds');
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toContain('4, 8, 12');
    await expect(client.videos.create({ model: 'sora-2', prompt: 'x', size: '1792x1024' })).rejects.toMatchObject({ status: 400, param: 'size' });
    await expect(client.videos.create({ model: 'no-such-model', prompt: 'x' })).rejects.toMatchObject({ status: 400, param: 'model' });
    await expect(client.videos.create({ model: 'sora-2', prompt: '   ' })).rejects.toMatchObject({ status: 400, param: 'prompt' });

    // plain JSON clients get the same answers
    const raw = (body: unknown) =>
      fetch(`${g.app.url}/v1/videos`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const unknown = await raw({ prompt: 'x', quality: 'hd' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: { message: "Unknown parameter: 'quality'.", type: 'invalid_request_error', param: 'quality', code: 'invalid_value' },
    });
    expect(await (await raw({ model: 'sora-2' })).json()).toMatchObject({ error: { param: 'prompt', message: "Missing required parameter: 'prompt'." } });
    expect(await (await raw({ model: 'sora-2-pro', prompt: 'x', seconds: 8, size: '1920x1080' })).json()).toMatchObject({
      model: 'sora-2-pro',
      seconds: '8',
      size: '1792x1024',
    });
  });

  it('a videos:read key cannot create, remix or delete (403)', async () => {
    const key = await g.app.platform.ctx.services.developer.createKey(userId, { name: 'read only', scopes: ['videos:read'] });
    const reader = sdk(key.secret);
    const err = await reader.videos.create({ model: 'sora-2', prompt: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).type).toBe('permission_error');
    await expect(reader.videos.remix(made[0]!, { prompt: 'nope' })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(reader.videos.delete(made[0]!)).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((await reader.videos.retrieve(made[0]!)).id).toBe(made[0]);
  });

  it("another user's video is 404; a bad key is 401; no credits is 402", async () => {
    const other = await g.user('other-sdk@example.com', 0);
    const key = await g.app.platform.ctx.services.developer.createKey(other.userId, { name: 'other', scopes: ['videos:read', 'videos:write'] });
    const stranger = sdk(key.secret);
    await expect(stranger.videos.retrieve(made[0]!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(stranger.videos.downloadContent(made[0]!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(stranger.videos.remix(made[0]!, { prompt: 'mine now' })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(stranger.videos.delete(made[0]!)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const poor = await stranger.videos.create({ model: 'sora-2', prompt: 'x' }).catch((e: unknown) => e);
    expect(poor).toBeInstanceOf(OpenAI.APIError);
    expect(poor).toMatchObject({ status: 402, type: 'insufficient_quota', code: 'insufficient_quota' });
    await expect(sdk('ssk_not-a-real-key').videos.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('an Idempotency-Key header replays the same video, also when the request uploads a file', async () => {
    const opts = { headers: { 'Idempotency-Key': 'sdk-replay-1' } };
    const a = await client.videos.create({ model: 'veo-3.1', prompt: 'once' }, opts);
    const b = await client.videos.create({ model: 'veo-3.1', prompt: 'once' }, opts);
    expect(b.id).toBe(a.id);
    await expect(client.videos.create({ model: 'veo-3.1', prompt: 'twice' }, opts)).rejects.toMatchObject({ status: 409 });

    // each retry uploads the file anew: the key still matches, and the retry's copy is not kept
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#44aa44' } })
      .png()
      .toBuffer();
    const withFile = async () =>
      client.videos.create(
        {
          model: 'local-preview',
          prompt: 'green',
          seconds: '2' as never,
          size: '854x480' as never,
          input_reference: await toFile(png, 'g.png', { type: 'image/png' }),
        },
        { headers: { 'Idempotency-Key': 'sdk-replay-file' } },
      );
    const c = await withFile();
    const d = await withFile();
    expect(d.id).toBe(c.id);
    const [uploads] = await g.app.db.sql.query<{ n: number }>(
      `select count(*)::int as n from media where user_id = $1 and deleted_at is null and name = 'g.png'`,
      [userId],
    );
    expect(uploads!.n).toBe(1);
    await completed(a.id);
    await completed(c.id);
  });
});
