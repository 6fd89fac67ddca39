import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsersService } from '../../src/server/domain/users/users.service';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

// Privacy policy section 1: what we collect. One test per promise; `todo` until it is built.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

describe('1.1 Account information', () => {
  it('1.1 stores only a salted hash of the password, never the plaintext', async () => {
    const password = 'policy plaintext check';
    const users = createUsersService({ database: db });
    await users.create({ email: 'p1@example.com', password });
    await users.create({ email: 'p2@example.com', password });
    // search every text column of every table for the plaintext
    const columns = await db.sql.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns
        where table_schema = 'public' and data_type in ('text', 'character varying', 'jsonb', 'json')`,
    );
    for (const c of columns) {
      const hits = await db.sql.query(`select 1 from "${c.table_name}" where "${c.column_name}"::text like $1 limit 1`, [`%${password}%`]);
      expect(hits, `${c.table_name}.${c.column_name}`).toHaveLength(0);
    }
    const hashes = await db.sql.query<{ password: string }>(`select password from accounts where provider_id = 'credential'`);
    expect(new Set(hashes.map((h) => h.password)).size).toBe(hashes.length); // salted: all different
  });
  it.todo('1.1 Google sign-in stores the email, name, photo and Google account id, and no Google password');
  it.todo('1.1 keeps profile metadata: region, preferred language, device type, referral code');
});

describe('1.2 Generation inputs and outputs', () => {
  it.todo('1.2 stores prompts, reference media and outputs with task metadata (model, parameters, duration, resolution, timestamps)');
  it.todo('1.2 lists past tasks in My Creations, linked to the account');
});

describe('1.3 Billing and transaction data', () => {
  it.todo('1.3 order records hold plan, amount, currency, provider, transaction id, refund status and checkout email');
  it.todo('1.3 no card number or banking credential ever reaches our servers');
  it.todo('1.3 NOWPayments orders keep only invoice id, payment status and paid amount');
});

describe('1.4 Technical and usage data', () => {
  it.todo('1.4 records IP, user agent, device type, operating system and approximate region');
  it.todo('1.4 records usage events: pages, features, generation success/failure, credit consumption');
  it.todo('1.4 logs API requests per key: endpoint, timestamp, response code, bytes transferred');
});

describe('1.5 Cookies', () => {
  it.todo('1.5 essential cookies only for authentication and sessions; analytics only after consent');
});
