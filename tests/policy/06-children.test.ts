import { describe, it } from 'vitest';

// Privacy policy section 6: children.
describe("6 Children's privacy", () => {
  it.todo('6 sign-up requires confirming the minimum age (13, or 16 in the EEA/UK) and keeps nothing when refused');
  it.todo('6 data reported as belonging to a child can be deleted by an operator');
});
