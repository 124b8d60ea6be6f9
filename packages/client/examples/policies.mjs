// Runs 300 predictions of the demo model tiny_mlp through @modelserve/client with one
// load-balancing policy, and prints how the calls spread over the replicas.
//
//   node packages/client/examples/policies.mjs [policy] [host:port ...]
//
// policy: round_robin (default), weighted_round_robin, least_request, peak_ewma, random.
// Replicas default to 127.0.0.1:8001, :8002 and :8003 (start them with `pnpm serve --port 8002`, …).
// With weighted_round_robin, the first replica gets weight 3 and the others 1.
import { createClient } from '@modelserve/client';

const [policy = 'round_robin', ...given] = process.argv.slice(2);
const addresses = given.length > 0 ? given : ['127.0.0.1:8001', '127.0.0.1:8002', '127.0.0.1:8003'];
const endpoints = addresses.map((address, i) => ({ address, weight: policy === 'weighted_round_robin' && i === 0 ? 3 : 1 }));

const client = createClient({ endpoints, policy });
try {
  // Calls go only to replicas whose health watch says SERVING; wait (up to 5 s) until every one has
  // answered, so that the spread below is the policy's own and not the order replicas came up in.
  for (const until = Date.now() + 5000; Date.now() < until && client.stats().endpoints.some((e) => e.health !== 'SERVING'); ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  let next = 0;
  // 8 calls in flight at a time.
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < 300) {
        next++;
        await client.predict('tiny_mlp', { input: { data: [5.1, 3.5, 1.4, 0.2], shape: [1, 4] } });
      }
    }),
  );
  const { endpoints: seen, retries } = client.stats();
  console.log(`${policy}: ${seen.map((e) => `${e.address} ${e.calls}`).join(', ')}; retries ${retries}`);
} finally {
  await client.close();
}
