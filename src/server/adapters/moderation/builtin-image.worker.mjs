// The built-in image classifier's model, in a worker thread (started by builtin-image.ts): the NSFW
// model that ships inside the nsfwjs package, on TensorFlow.js's WebAssembly backend (its .wasm
// files ship in @tensorflow/tfjs-backend-wasm) or the pure JavaScript CPU backend. One image takes
// tens to hundreds of ms of CPU: here it does not stall the server's event loop.
//
// Plain JavaScript so that it starts the same under tsx, vitest and node. Messages:
//   in:  { type: 'classify', id, pixels: Uint8Array (RGB), width, height } (closing terminates the thread)
//   out: { type: 'ready', info } | { type: 'failed', message } | { type: 'result', id, probabilities } | { type: 'error', id, message }
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { model: modelName, backend, wasmDir } = workerData;
let networkAttemptsBlocked = 0;

// The model and the runtime are on disk: nothing here may reach the network. Any attempt (a future
// package version fetching weights, a CDN fallback) fails loudly instead of leaving the machine.
function denyNetwork(what) {
  networkAttemptsBlocked++;
  return new Error(`builtin-image: network access is not allowed (${what}); the model must load from node_modules`);
}
globalThis.fetch = async (input) => {
  throw denyNetwork(`fetch ${typeof input === 'string' ? input : String(input?.url ?? input)}`);
};
net.Socket.prototype.connect = function connect() {
  throw denyNetwork('socket');
};

// nsfwjs announces the model it loads on console.info: not a log line the server wants
console.info = () => {};
console.log = () => {};

const post = (message, transfer) => parentPort.postMessage(message, transfer);

let model;
let tf;
try {
  const t0 = performance.now();
  tf = await import('@tensorflow/tfjs');
  tf.enableProdMode();
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(wasmDir);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`the TensorFlow.js ${backend} backend did not start`);
  await tf.ready();
  const nsfwjs = await import('nsfwjs');
  model = await nsfwjs.load(modelName);
  post({
    type: 'ready',
    info: {
      model: modelName,
      backend: tf.getBackend(),
      simd: backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : false,
      loadMs: performance.now() - t0,
      networkAttemptsBlocked,
    },
  });
} catch (err) {
  post({ type: 'failed', message: err instanceof Error ? err.message : String(err), networkAttemptsBlocked });
}

// one image at a time, in order: memory stays at one input tensor
let queue = Promise.resolve();
parentPort.on('message', (msg) => {
  if (msg.type !== 'classify') return;
  queue = queue.then(async () => {
    if (!model) return post({ type: 'error', id: msg.id, message: 'the model is not loaded' });
    let input;
    try {
      input = tf.tensor3d(msg.pixels, [msg.height, msg.width, 3], 'int32');
      const predictions = await model.classify(input, 5);
      const probabilities = {};
      for (const p of predictions) probabilities[p.className] = p.probability;
      post({ type: 'result', id: msg.id, probabilities, networkAttemptsBlocked });
    } catch (err) {
      post({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
    } finally {
      input?.dispose();
    }
  });
});
