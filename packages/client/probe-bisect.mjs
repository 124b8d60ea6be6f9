import { fork } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { loadGrpcObject, loadPackageDefinition, serializePredictRequest, parsePredictResponse } from '@modelserve/proto';
import { createClient } from '@modelserve/client';
const servers = await Promise.all([0,1,2].map(() => new Promise((res) => { const c = fork('/work/main/apps/bench/dist/server-echo.js'); c.on('message', (m) => m.type === 'listening' && res(m.port)); })));
const addrs = servers.map((p) => '127.0.0.1:' + p);
const values = new Float32Array(784).map((_, i) => i / 784);
const req = { model_name: 'mnist_mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 784], raw_contents: Buffer.from(values.buffer) }] };
const Predictor = loadGrpcObject().modelserve.v1.Predictor;
const P = loadPackageDefinition()['modelserve.v1.Predictor'].Predict;
const variants = {
  async grpc() {
    const client = new Predictor(`ipv4:${addrs.join(',')}`, grpc.credentials.createInsecure(), { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }), 'grpc.use_local_subchannel_pool': 1 });
    await new Promise((r) => client.waitForReady(Date.now() + 5000, r));
    return [(done) => client.Predict(req, { deadline: Date.now() + 30000 }, done), () => client.close()];
  },
  async three() {
    const clients = addrs.map((a) => new Predictor(a, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    await Promise.all(clients.map((c) => new Promise((r) => c.waitForReady(Date.now() + 5000, r))));
    let i = 0;
    return [(done) => clients[i++ % 3].Predict(req, { deadline: Date.now() + 30000 }, done), () => clients.forEach((c) => c.close())];
  },
  async threeRaw() {
    const clients = addrs.map((a) => new grpc.Client(a, grpc.credentials.createInsecure(), {}));
    await Promise.all(clients.map((c) => new Promise((r) => c.waitForReady(Date.now() + 5000, r))));
    let i = 0;
    const raw = { model_name: 'mnist_mlp', model_version: '', id: '', inputs: req.inputs, outputs: [], output_format: 2, priority: 0 };
    return [(done) => clients[i++ % 3].makeUnaryRequest(P.path, serializePredictRequest, parsePredictResponse, raw, new grpc.Metadata(), { deadline: Date.now() + 30000 }, done), () => clients.forEach((c) => c.close())];
  },
  async sdk() {
    const client = createClient({ endpoints: addrs, policy: 'round_robin', healthCheck: false });
    const input = { input: { data: values, shape: [1, 784] } };
    await client.predict('mnist_mlp', input);
    return [(done) => client.predict('mnist_mlp', input, { timeoutMs: 30000 }).then(() => done(), done), () => client.close()];
  },
};
async function measure(name) {
  const [send, close] = await variants[name]();
  let n = 0, stop = false;
  const loop = () => { if (stop) return; send(() => { n++; loop(); }); };
  for (let i = 0; i < 32; i++) loop();
  await new Promise((r) => setTimeout(r, 1000));
  const c0 = process.cpuUsage(); const n0 = n; const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 3000));
  const c = process.cpuUsage(c0); const calls = n - n0; const dt = performance.now() - t0;
  stop = true; await new Promise((r) => setTimeout(r, 300)); close();
  return [Math.round(calls / dt * 1000), (c.user + c.system) / calls];
}
const results = {};
for (let round = 0; round < 3; round++) for (const name of (round % 2 ? Object.keys(variants).reverse() : Object.keys(variants))) { const r = await measure(name); (results[name] ??= []).push(r); }
for (const [name, rs] of Object.entries(results)) console.log(name.padEnd(10), rs.map(([q, c]) => `${q}/s ${c.toFixed(0)}µs`).join('  '), ' median cpu', rs.map((r) => r[1]).sort((a, b) => a - b)[1].toFixed(1));
process.exit(0);
