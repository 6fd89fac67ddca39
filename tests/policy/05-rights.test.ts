import { describe, it } from 'vitest';

// Privacy policy section 5: rights and choices.
describe('5 Your rights and choices', () => {
  it.todo('5 a user can view profile, generation history and order records');
  it.todo('5 a structured export of a user\'s data can be produced on request');
  it.todo('5 a user can correct name, photo, region and language');
  it.todo('5 account deletion removes profile, generation files and sessions, keeping only what law requires');
  it.todo('5 product emails carry an unsubscribe link that works');
});
