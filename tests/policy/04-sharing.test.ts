import { describe, it } from 'vitest';

// Privacy policy section 4: sharing.
describe('4 How we share information', () => {
  it.todo('4.1 sends prompts and references only to the provider of the model the user selected');
  it.todo('4.2 shares only amount, currency, order id and customer email with payment processors');
  it.todo('4.4 preserves and discloses records for lawful requests (legal hold)');
});
