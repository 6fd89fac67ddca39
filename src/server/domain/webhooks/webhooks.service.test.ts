import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { GenerationRow } from '../generations/generations.repo';
import { generationEvent, newWebhookSecret, retryDelaySeconds, serializePayload, signWebhook } from './webhooks.service';

describe('webhook signing and scheduling', () => {
  it('signs like the Standard Webhooks reference library', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const body = '{"type":"webhook.test","timestamp":"2025-01-01T00:00:00.000Z","data":{"id":"test_1"}}';
    const ts = Math.floor(Date.now() / 1000);
    const signature = signWebhook(secret, 'msg_1', ts, body);
    expect(signature).toBe(new Webhook(secret).sign('msg_1', new Date(ts * 1000), body));
    expect(new Webhook(secret).verify(body, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(ts), 'webhook-signature': signature })).toMatchObject({
      type: 'webhook.test',
    });
  });

  it('backs off from the base, doubling, at most an hour', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(n, 5))).toEqual([5, 10, 20, 40, 80]);
    expect(retryDelaySeconds(11, 5)).toBe(3600);
    expect(retryDelaySeconds(500, 5)).toBe(3600);
  });

  it('builds events without the prompt, in a readable key order', () => {
    const base = {
      id: 'g1',
      modelId: 'sora-2',
      prompt: 'my private prompt',
      negativePrompt: 'no cats',
      createdAt: new Date('2025-01-01T00:00:00Z'),
      updatedAt: new Date('2025-01-01T00:01:00Z'),
      finishedAt: new Date('2025-01-01T00:01:00Z'),
      failureCode: null,
      failureMessage: null,
    } as unknown as GenerationRow;
    expect(generationEvent({ ...base, status: 'running' })).toBeNull();
    const ok = generationEvent({ ...base, status: 'succeeded' })!;
    expect(serializePayload(ok)).toBe(
      '{"type":"video.completed","timestamp":"2025-01-01T00:01:00.000Z","data":{"id":"g1","object":"video","model":"sora-2","status":"completed","created_at":1735689600,"completed_at":1735689660,"error":null}}',
    );
    const failed = generationEvent({ ...base, status: 'blocked', failureCode: 'policy' })!;
    expect(failed).toMatchObject({ type: 'video.failed', data: { status: 'failed', error: { code: 'policy', message: expect.any(String) } } });
    for (const e of [ok, failed]) expect(JSON.stringify(e)).not.toMatch(/prompt|cats/);
    // jsonb reorders keys; the body does not depend on it
    const shuffled = {
      data: { error: null, id: 'g1', status: 'completed', model: 'sora-2', object: 'video', completed_at: 1735689660, created_at: 1735689600 },
      timestamp: ok.timestamp,
      type: ok.type,
    };
    expect(serializePayload(shuffled)).toBe(serializePayload(ok));
  });
});
