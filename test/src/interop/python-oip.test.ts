// Runs test/interop/oip_client.py, a Python client of the Open Inference Protocol written the way
// Triton's clients talk (stubs from proto/inference/grpc_service.proto, raw_input_contents,
// ModelStreamInfer), against a real server serving the demo models.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeDemoRepository } from '@modelserve/model-zoo';
import { describe } from 'vitest';
import { cnnCase, lcgCheck, mlpCase, streamCases } from './interop-cases.js';
import { pythonSuite } from './python-suite.js';

/** Every check oip_client.py reports. */
const CHECKS = [
  'server_live_ready',
  'server_metadata',
  'model_ready',
  'model_metadata_mnist_mlp',
  'model_config_mnist_mlp',
  'infer_mnist_mlp_v1_raw',
  'infer_mnist_mlp_v2_typed',
  'infer_mnist_mlp_default_raw',
  'infer_mnist_cnn_raw',
  'infer_datatypes_raw',
  'stream_1000',
  'stream_bad_request_in_band',
  'unknown_model_not_found',
  'raw_and_typed_invalid_argument',
  'statistics_count_requests',
  'repository_index',
  'unload_load_mnist_cnn',
  'shared_memory_unimplemented',
];

describe('a Python Open Inference Protocol client (Triton-style stubs, python3-grpcio)', () => {
  pythonSuite(
    {
      script: 'oip_client.py',
      repository: async () => {
        const root = await mkdtemp(path.join(tmpdir(), 'modelserve-oip-demo-'));
        await writeDemoRepository(root);
        return root;
      },
      expectations: () => {
        const cnn = cnnCase();
        return {
          lcg_check: lcgCheck(),
          unary: [
            { name: 'infer_mnist_mlp_v1_raw', model: 'mnist_mlp', typed: false, ...mlpCase(1, 3, 201) },
            { name: 'infer_mnist_mlp_v2_typed', model: 'mnist_mlp', typed: true, ...mlpCase(2, 2, 202) },
            // No version named: the default (highest) version, 2.
            { name: 'infer_mnist_mlp_default_raw', model: 'mnist_mlp', typed: false, ...mlpCase(2, 1, 203), version: '' },
            { name: 'infer_mnist_cnn_raw', model: 'mnist_cnn', typed: false, version: '1', ...cnn },
          ],
          stream: { requests: streamCases(), bad_at: 500 },
          cnn,
        };
      },
    },
    CHECKS,
  );
});
