// `npm run dev:fakes`: start the fake KIE, FAL, Stripe, Creem and NOWPayments servers (tests/fakes)
// on local ports, then run the platform (`npm start`) pointed at them, so every model and every
// payment method works with no real keys. Trigger upstream failures from the studio with prompt
// markers such as `[fake:policy-after-accept]` or `[fake:http-error=503]` (tests/fakes/failures.ts);
// the fake checkout pages have Pay and Decline buttons.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinPlans } from '../src/server/domain/billing/plans-data';
import { startFakeCreem } from '../tests/fakes/creem';
import { startFakeFal } from '../tests/fakes/fal';
import { startFakeKie } from '../tests/fakes/kie';
import { startFakeNowPayments } from '../tests/fakes/nowpayments';
import { startFakeStripe } from '../tests/fakes/stripe';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`${name} must be a port number`);
  return v;
};
const appPort = port('PORT', 3000);
const publicUrl = (process.env.PUBLIC_URL ?? `http://localhost:${appPort}`).replace(/\/+$/, '');

const kie = await startFakeKie({ port: port('FAKE_KIE_PORT', 4010) });
const fal = await startFakeFal({ port: port('FAKE_FAL_PORT', 4011) });
const stripe = await startFakeStripe({ port: port('FAKE_STRIPE_PORT', 4012), webhookUrl: `${publicUrl}/webhooks/stripe` });
const creem = await startFakeCreem({ port: port('FAKE_CREEM_PORT', 4013), webhookUrl: `${publicUrl}/webhooks/creem` });
const nowpayments = await startFakeNowPayments({ port: port('FAKE_NOWPAYMENTS_PORT', 4014) });
// Creem sells products of its own: one per plan, named after it (prod_<plan>)
for (const plan of builtinPlans) {
  creem.createProduct({
    id: `prod_${plan.id}`,
    name: plan.name,
    price: plan.prices.usd ?? 1000,
    currency: 'usd',
    billingType: plan.kind === 'subscription' ? 'recurring' : 'onetime',
  });
}
process.stderr.write(`Fake KIE ${kie.url}, FAL ${fal.url}, Stripe ${stripe.url}, Creem ${creem.url}, NOWPayments ${nowpayments.url}\n`);

const env = {
  ...process.env,
  KIE_API_KEY: kie.apiKey,
  KIE_BASE_URL: kie.url,
  KIE_UPLOAD_URL: kie.url,
  KIE_WEBHOOK_HMAC_KEY: kie.hmacKey,
  FAL_KEY: fal.apiKey,
  FAL_QUEUE_URL: fal.url,
  FAL_JWKS_URL: fal.jwksUrl,
  STRIPE_SECRET_KEY: stripe.secretKey,
  STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
  STRIPE_API_BASE: stripe.url,
  CREEM_API_KEY: creem.apiKey,
  CREEM_WEBHOOK_SECRET: creem.webhookSecret,
  CREEM_API_BASE: creem.url,
  NOWPAYMENTS_API_KEY: nowpayments.apiKey,
  NOWPAYMENTS_IPN_SECRET: nowpayments.ipnSecret,
  NOWPAYMENTS_API_BASE: nowpayments.url,
};
const child = spawn(process.execPath, [path.join(root, 'scripts/start.mjs'), ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });

// once the app answers, map the plans to the fake Creem's products (through the running server)
void (async () => {
  if (appPort === 0) return; // a random port (tests): nothing to reach
  for (let i = 0; i < 240; i++) {
    const up = await fetch(`http://127.0.0.1:${appPort}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const plan of builtinPlans) {
    await new Promise<void>((resolve) => {
      const cli = spawn(
        process.execPath,
        ['--import', 'tsx', path.join(root, 'src/server/cli/index.ts'), 'plans:set', '--plan', plan.id, '--creem-product', `prod_${plan.id}`],
        {
          cwd: root,
          env,
          stdio: 'ignore',
        },
      );
      cli.on('exit', () => resolve());
    });
  }
  process.stderr.write('Plans mapped to the fake Creem products.\n');
})();

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  void Promise.allSettled([kie.close(), fal.close(), stripe.close(), creem.close(), nowpayments.close()]).then(() =>
    process.exit(code ?? (stopping || signal ? 0 : 1)),
  );
});
