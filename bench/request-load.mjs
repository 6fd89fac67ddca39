import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Load generator, run in a worker thread: `total` requests over `concurrency` keep-alive
 * connections, each connection acting as one client (its own cookie, body and paths).
 *
 * workerData: { baseUrl, origin, method, total, concurrency, clients: [{ cookie, body?, paths? }] }
 * Connection i uses clients[i % clients.length]; a GET client cycles through its `paths`, a POST
 * client sends `body` to `path`. Answers { requests, elapsedMs, p50, p99, statuses, ids } where
 * `statuses` counts every status code (and `network` for failed connections) and `ids` lists, per
 * client, the `id` of each 2xx JSON answer to a POST.
 */
const { baseUrl, origin, method, path, total, concurrency, clients } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const latencies = [];
const statuses = {};
const ids = clients.map(() => []);
let next = 0;

function one(clientIndex, reqPath, payload) {
  const client = clients[clientIndex];
  return new Promise((resolve) => {
    const t0 = performance.now();
    const headers = { cookie: client.cookie };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
      headers.origin = origin;
    }
    const req = http.request(new URL(reqPath, baseUrl), { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        latencies.push(performance.now() - t0);
        const code = String(res.statusCode);
        statuses[code] = (statuses[code] ?? 0) + 1;
        if (payload && res.statusCode >= 200 && res.statusCode < 300) {
          try {
            ids[clientIndex].push(JSON.parse(Buffer.concat(chunks).toString('utf8')).id);
          } catch {
            statuses['bad-json'] = (statuses['bad-json'] ?? 0) + 1;
          }
        }
        resolve();
      });
    });
    req.on('error', () => {
      statuses.network = (statuses.network ?? 0) + 1;
      resolve();
    });
    if (payload) req.write(payload);
    req.end();
  });
}

async function connection(i) {
  const clientIndex = i % clients.length;
  const client = clients[clientIndex];
  const payload = client.body === undefined ? null : Buffer.from(JSON.stringify(client.body));
  let k = 0;
  while (next < total) {
    next++;
    const reqPath = client.paths ? client.paths[k++ % client.paths.length] : path;
    await one(clientIndex, reqPath, payload);
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, (_, i) => connection(i)));
const elapsedMs = performance.now() - t0;
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
parentPort.postMessage({ requests: latencies.length, elapsedMs, p50: pct(50), p99: pct(99), statuses, ids });
