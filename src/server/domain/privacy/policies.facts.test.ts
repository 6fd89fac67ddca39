import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../config';
import type { EffectiveModel } from '../catalog/catalog.service';
import { escapeMarkdown, fillPlaceholders, legalPlaceholders, serviceParties } from './policies.facts';

const config = (env: Record<string, string> = {}): Config => ({ ...parseConfig(env), SESSION_SECRET: 'x'.repeat(40) });
const model = (name: string, vendor: string, provider: 'kie' | 'fal' | 'local', available = true) =>
  ({ id: name.toLowerCase(), name, vendor, available, routes: [{ provider, available }] }) as unknown as EffectiveModel;

describe('legal document placeholders', () => {
  it('fills known placeholders, leaves unknown ones as written, and takes values literally', () => {
    expect(fillPlaceholders('Write to {{ supportEmail }} or {{nope}}; {{a}}', { supportEmail: 'help@example.com', a: '$& $1 $$' })).toBe(
      'Write to help@example.com or {{nope}}; $& $1 $$',
    );
  });

  it('escapes what an operator types so that it stays text', () => {
    expect(escapeMarkdown('Acme *Video* [Ltd](javascript:x) <b>')).toBe('Acme \\*Video\\* \\[Ltd\\]\\(javascript:x\\) \\<b\\>');
    const v = legalPlaceholders(config({ SELLER_NAME: 'Evil_Corp <script>', HOSTING_LOCATION: 'Berlin #1' }), [], 'en');
    expect(v.operatorName).toBe('Evil\\_Corp \\<script\\>');
    expect(v.hostingLocation).toBe('Berlin \\#1');
  });

  it('lists only the services configured, never credentials, and the operator’s own hosts only by public names', () => {
    const models = [model('Veo 3.1', 'Google', 'kie'), model('Sora 2', 'OpenAI', 'fal', false), model('Local preview', 'Save Sora', 'local')];
    const c = config({
      KIE_API_KEY: 'kie-secret-key',
      SMTP_URL: 'smtp://user:pw-123@10.0.0.5:587',
      REDIS_URL: 'redis://:redis-pw@cache.example.net:6379',
      S3_BUCKET: 'media',
      S3_REGION: 'eu-central-1',
    });
    const parties = serviceParties(c, models);
    expect(parties.map((p) => p.name.en)).toEqual(['KIE', 'Amazon S3', 'Mail delivery', 'Redis']);
    expect(parties.find((p) => p.name.en === 'Mail delivery')!.hosts).toEqual([]); // a private address is not shown
    expect(parties.find((p) => p.name.en === 'Redis')!.hosts).toEqual(['cache.example.net']);
    expect(parties.find((p) => p.name.en === 'Amazon S3')!.hosts).toEqual(['s3.eu-central-1.amazonaws.com']);
    // fal serves no model that is on offer: not listed; the companies named are those of what is used
    const v = legalPlaceholders(c, models, 'en');
    expect(v.thirdPartyNames).toBe('KIE, Google or Amazon Web Services');
    expect(v.modelList).toBe('- Veo 3.1 (Google, through KIE)\n- Local preview (this server)');
    const text = Object.values(v).join('\n');
    for (const secret of ['kie-secret-key', 'pw-123', 'redis-pw', '10.0.0.5', 'user:']) expect(text).not.toContain(secret);
    expect(legalPlaceholders(c, models, 'es').thirdPartyNames).toBe('KIE, Google ni Amazon Web Services');
  });

  it('says so when nothing outside is used', () => {
    const v = legalPlaceholders(config({ LOCAL_PROVIDER: 'false' }), [], 'en');
    expect(v.serviceProviders).toMatch(/uses no outside service at present/);
    expect(v.modelList).toBe('- No model is offered at the moment.');
    expect(v.moderationChecks).toBe(
      'lists of forbidden words and phrases, comparison with the lists of known illegal images the operator loads and an image classifier that runs on this server itself',
    );
    expect(legalPlaceholders(config({ MODERATION_IMAGE_CLASSIFIER: 'off' }), [], 'es').moderationChecks).toBe(
      'listas de palabras y frases prohibidas y la comparación con las listas de imágenes ilegales conocidas que carga el operador',
    );
  });
});
