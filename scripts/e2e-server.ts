// The server the browser tests run against (playwright.config.ts): the platform as `npm start`
// runs it on a fresh installation (no video provider keys: only the local renderer), plus a fake
// Stripe on E2E_STRIPE_PORT so the billing tests can buy credits through a real hosted-checkout flow,
// and a fake KIE on E2E_KIE_PORT that is NOT configured: the console test enters its key in the settings.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeKie } from '../tests/fakes/kie';
import { startFakeStripe } from '../tests/fakes/stripe';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const publicUrl = (process.env.PUBLIC_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}`).replace(/\/+$/, '');
const stripe = await startFakeStripe({ port: Number(process.env.E2E_STRIPE_PORT ?? 3108), webhookUrl: `${publicUrl}/webhooks/stripe` });
const kie = await startFakeKie({ port: Number(process.env.E2E_KIE_PORT ?? 3109), host: '127.0.0.1', stepMs: 200 });

const child = spawn(process.execPath, [path.join(root, 'scripts/start.mjs')], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_WEBHOOK_SECRET: stripe.webhookSecret, STRIPE_API_BASE: stripe.url },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => {
  // exit even when closing the fake fails
  void Promise.allSettled([stripe.close(), kie.close()]).finally(() => process.exit(code ?? 0));
});
