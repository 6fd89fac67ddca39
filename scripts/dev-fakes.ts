// `npm run dev:fakes`: start the fake KIE and FAL servers (tests/fakes) on local ports, then run
// the platform (`npm start`) pointed at them, so every model is available with no real keys.
// Trigger upstream failures from the studio with prompt markers such as `[fake:policy-after-accept]`
// or `[fake:http-error=503]` (see tests/fakes/failures.ts).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeFal } from '../tests/fakes/fal';
import { startFakeKie } from '../tests/fakes/kie';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const port = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 0 || v > 65535) throw new Error(`${name} must be a port number`);
  return v;
};

const kie = await startFakeKie({ port: port('FAKE_KIE_PORT', 4010) });
const fal = await startFakeFal({ port: port('FAKE_FAL_PORT', 4011) });
process.stderr.write(`Fake KIE on ${kie.url}, fake FAL on ${fal.url}\n`);

const child = spawn(process.execPath, [path.join(root, 'scripts/start.mjs'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    KIE_API_KEY: kie.apiKey,
    KIE_BASE_URL: kie.url,
    KIE_UPLOAD_URL: kie.url,
    KIE_WEBHOOK_HMAC_KEY: kie.hmacKey,
    FAL_KEY: fal.apiKey,
    FAL_QUEUE_URL: fal.url,
    FAL_JWKS_URL: fal.jwksUrl,
  },
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    stopping = true;
    child.kill(signal);
  });
}
child.on('exit', async (code, signal) => {
  await Promise.allSettled([kie.close(), fal.close()]);
  process.exit(code ?? (stopping || signal ? 0 : 1));
});
