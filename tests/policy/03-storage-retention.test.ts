import { describe, it } from 'vitest';

// Privacy policy section 3: storage and retention.
describe('3 Data storage and retention', () => {
  it.todo('3 generated videos are stored tied to the account and downloadable later');
  it.todo('3 deleted creations are removed from active storage and purged');
  it.todo('3 prompts and task metadata are kept for the life of the account');
  it.todo('3 order and tax records are kept for the legal period');
  it.todo('3 application and security logs are deleted after the retention period (30-180 days)');
});
