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
export async function run(name, ms) {
  const [send, close] = await variants[name]();
  let n = 0, stop = false;
  const loop = () => { if (stop) return; send(() => { n++; loop(); }); };
  for (let i = 0; i < 32; i++) loop();
  const c0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const c = process.cpuUsage(c0);
  stop = true; await new Promise((r) => setTimeout(r, 300)); close();
  return { calls: n, cpu: (c.user + c.system) / n };
}
