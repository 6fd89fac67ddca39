import { describe, it } from 'vitest';

// Privacy policy section 9: AI safety and moderation.
describe('9 AI safety and content moderation', () => {
  it.todo('9 prompts, references and outputs are screened; flagged items go to the trust & safety queue');
  it.todo('9 prohibited content is blocked or quarantined and the account can be suspended');
  it.todo('9 outputs carry provenance (C2PA manifest, optional visible watermark)');
});
