import { describe, it } from 'vitest';

// Privacy policy section 2: how we use information.
describe('2 How we use your information', () => {
  it.todo('2 runs safety classifiers on prompts, reference media and outputs');
  it.todo('2 reports material flagged as CSAM to NCMEC');
  it.todo('2 detects and blocks credential abuse, multi-account evasion and payment fraud');
  it.todo('2 never uses prompts, references or outputs to train models');
  it.todo('2 sends transactional messages, and product updates only to those who opted in');
});
