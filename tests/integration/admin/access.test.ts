import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registeredRoutes } from '../../../src/server/http/app';
import { startTestApp, type TestApp } from '../../helpers/app';
import { TestClient, type ClientResponse } from '../../helpers/client';

/**
 * Who may call each operator route (issue 18), table-driven. Every registered route under the
 * console's prefixes must be in the table below (a new route without an entry fails the first test,
 * so whoever adds one decides who may call it). For each route and each caller:
 *   - allowed: anything but the access answers (401, 403, or the 404 that pretends the route does not exist);
 *   - not allowed: 404 `No route matches …` for nobody signed in and for a normal user (the console
 *     does not exist for them), 403 `forbidden` for staff whose role lacks the permission.
 * Ids in paths are ids that do not exist, so an allowed call changes nothing (a 404 from the service
 * is fine: its message is not the not-found handler's).
 */

type Caller = 'anonymous' | 'user' | 'support' | 'moderator' | 'admin';
type Staff = Exclude<Caller, 'anonymous' | 'user'>;

const A: Staff[] = ['admin'];
const SA: Staff[] = ['support', 'admin'];
const MA: Staff[] = ['moderator', 'admin'];
const STAFF: Staff[] = ['support', 'moderator', 'admin'];

/** `METHOD /path` -> the staff roles allowed (admins may do everything the console offers). */
const access: Record<string, Staff[]> = {
  // the frame
  'POST /api/admin/reauth': STAFF,
  // dashboard and first run
  'GET /api/admin/dashboard': A,
  'GET /api/admin/setup': A,
  // users (users.view / users.act for support; users.manage: admins)
  'GET /api/admin/users': SA,
  'GET /api/admin/users/:id': SA,
  'GET /api/admin/users/:id/ledger': SA,
  'POST /api/admin/users/:id/credits': SA,
  'POST /api/admin/users/:id/suspend': SA,
  'POST /api/admin/users/:id/reactivate': SA,
  'POST /api/admin/users/:id/terminate': A,
  'POST /api/admin/users/:id/role': A,
  'POST /api/admin/users/:id/sign-out-everywhere': SA,
  'POST /api/admin/users/:id/export': SA,
  'POST /api/admin/users/:id/delete': A,
  // data exports on a user's behalf (privacy.handle)
  'POST /api/admin/users/:id/exports': SA,
  'GET /api/admin/users/:id/exports': SA,
  // orders and refunds
  'GET /api/admin/orders': SA,
  'GET /api/admin/orders/:id': SA,
  'POST /api/admin/orders/:id/refund': SA,
  'POST /api/admin/orders/:id/reconcile': SA,
  // generations
  'GET /api/admin/generations': SA,
  'GET /api/admin/generations/:id': SA,
  'GET /api/admin/generations/:id/video': SA,
  'POST /api/admin/generations/:id/cancel': SA,
  'POST /api/admin/generations/:id/release': SA,
  // settings: support reads, admins change
  'GET /api/admin/settings': SA,
  'PUT /api/admin/settings': A,
  'POST /api/admin/settings/test/:provider': A,
  // models and plans
  'GET /api/admin/catalog': A,
  'PATCH /api/admin/catalog/models/:id': A,
  'POST /api/admin/catalog/models/:id/reset': A,
  'POST /api/admin/catalog/models/order': A,
  'PATCH /api/admin/catalog/plans/:id': A,
  // the audit log
  'GET /api/admin/audit': A,
  'GET /api/admin/audit.csv': A,
  // privacy requests (privacy.handle); confirming a child report deletes an account (admins)
  'GET /api/admin/privacy-requests': SA,
  'GET /api/admin/privacy-requests/:id': SA,
  'PATCH /api/admin/privacy-requests/:id': SA,
  'POST /api/admin/privacy-requests/:id/confirm-child': A,
  // trust & safety (moderation.review); lists, releasing holds and CyberTipline reports (moderation.manage)
  'GET /api/moderation/queue': MA,
  'GET /api/moderation/cases/:id': MA,
  'GET /api/moderation/cases/:id/evidence/:evidenceId': MA,
  'POST /api/moderation/cases/:id/decision': MA,
  'GET /api/moderation/holds': MA,
  'POST /api/moderation/holds': MA,
  'POST /api/moderation/holds/:id/release': A,
  'GET /api/moderation/ncmec-reports': A,
  'POST /api/moderation/ncmec-reports/:id/retry': A,
  'GET /api/moderation/hash-lists': A,
  'POST /api/moderation/hash-lists': A,
  'DELETE /api/moderation/hash-lists/:id': A,
  'GET /api/moderation/terms': A,
  'POST /api/moderation/terms': A,
  'DELETE /api/moderation/terms/:id': A,
  // abuse and fraud (issue 19): risk.view for support and admins, risk.manage for admins
  // (email rules)
  'GET /api/admin/abuse/domains': A,
  'POST /api/admin/abuse/domains': A,
  'DELETE /api/admin/abuse/domains/:domain': A,
  // (payment fraud)
  // (risk console)
  'GET /api/admin/users/:id/risk': SA,
  'GET /api/admin/risk/clusters': SA,
  'POST /api/admin/users/:id/free-credits': A,
};

/** The operator routes: the console's API and the trust & safety and operator prefixes. */
const CONSOLE_PREFIXES = ['/api/admin/', '/api/moderation/', '/api/holds', '/api/operator/'];
const isConsoleRoute = (url: string) => CONSOLE_PREFIXES.some((p) => url.startsWith(p) || `${url}/` === p);

const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';
const concrete = (url: string) => url.replace(/:provider\b/g, 'no-such-provider').replace(/:[A-Za-z]+/g, NO_SUCH_ID);

let app: TestApp;
const callers = {} as Record<Caller, TestClient>;
const PASSWORD = 'a fine password 1';

beforeAll(async () => {
  app = await startTestApp({ env: { TRUST_PROXY: 'true', SIGNUP_FREE_CREDITS: '0' } });
  callers.anonymous = new TestClient(app.url, { ip: '198.51.100.200' });
  let i = 0;
  for (const role of ['user', 'support', 'moderator', 'admin'] as const) {
    const email = `access-${role}@example.com`;
    await app.platform.ctx.services.users.create({ email, password: PASSWORD, name: `Access ${role}`, role });
    const c = new TestClient(app.url, { ip: `198.51.100.${++i}` });
    const res = await c.post('/api/auth/sign-in/email', { email, password: PASSWORD });
    if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.body}`);
    callers[role] = c;
  }
});
afterAll(() => (app as TestApp | undefined)?.close());

function call(c: TestClient, method: string, path: string): Promise<ClientResponse> {
  if (method === 'GET') return c.get(path);
  if (method === 'DELETE') return c.delete(path);
  return c.request(method, path, {});
}

const errorOf = (res: ClientResponse): { code?: string; message?: string } => {
  try {
    return res.json<{ error?: { code?: string; message?: string } }>().error ?? {};
  } catch {
    return {};
  }
};

describe('operator routes: who may call them', () => {
  it('every registered operator route is in the access table (and the table names no route that is gone)', () => {
    const registered = [
      ...new Set(
        registeredRoutes(app.platform.http!)
          .filter((r) => r.method !== 'HEAD' && isConsoleRoute(r.url))
          .map((r) => `${r.method} ${r.url}`),
      ),
    ].sort();
    const missing = registered.filter((k) => !(k in access));
    const gone = Object.keys(access)
      .filter((k) => !registered.includes(k))
      .sort();
    expect(missing, 'operator routes without an entry in the access table: add them, with the roles allowed').toEqual([]);
    expect(gone, 'entries of the access table for routes that no longer exist').toEqual([]);
    expect(registered.length).toBeGreaterThan(40);
  });

  it('each caller gets exactly what its role allows', async () => {
    const problems: string[] = [];
    for (const [key, allowed] of Object.entries(access)) {
      const [method, url] = key.split(' ') as [string, string];
      const path = concrete(url);
      for (const caller of ['anonymous', 'user', 'support', 'moderator', 'admin'] as const) {
        const res = await call(callers[caller], method, path);
        const error = errorOf(res);
        const accessNotFound = res.status === 404 && error.message === `No route matches ${method} ${path}.`;
        const got = `${res.status}${error.code ? ` ${error.code}` : ''}`;
        if (caller === 'anonymous' || caller === 'user') {
          if (!accessNotFound) problems.push(`${key} as ${caller}: ${got} (${error.message ?? res.body.slice(0, 80)}), expected the route's 404`);
        } else if (allowed.includes(caller)) {
          if (res.status === 401 || res.status === 403 || accessNotFound) problems.push(`${key} as ${caller}: ${got}, expected to be let through`);
        } else if (res.status !== 403 || error.code !== 'forbidden') {
          problems.push(`${key} as ${caller}: ${got}, expected 403 forbidden`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
