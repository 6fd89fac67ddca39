import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

/** Load generator, run in a worker thread: N keep-alive connections hammering one URL for D ms (optional request headers). */
const { url, connections, durationMs, headers = {} } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const latencies = [];
let errors = 0;
const end = Date.now() + durationMs;

function one() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        latencies.push(performance.now() - t0);
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
  });
}

async function connection() {
  while (Date.now() < end) await one();
}

await Promise.all(Array.from({ length: connections }, connection));
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
parentPort.postMessage({ requests: latencies.length, errors, p50: pct(50), p99: pct(99) });
