// Runs test/interop/client.py, a Python gRPC client of modelserve.v1 on Debian's python3-grpcio,
// against a real server, to prove modelserve works for callers that are not grpc-js. The expected
// outputs come from the TypeScript reference evaluators and reach Python in a JSON file; the inputs
// do not travel: both sides derive them from the same seeded LCG (sampleValues).
import { describe } from 'vitest';
import { fixtureRepository } from '../support/fixtures.js';
import { cnnCase, lcgCheck, mlpCase, streamCases } from './interop-cases.js';
import { pythonSuite } from './python-suite.js';

/** Every check client.py reports, so a check that silently went missing fails too. */
const CHECKS = [
  'health_overall',
  'health_mnist_mlp',
  'list_models',
  'metadata_mnist_mlp',
  'predict_mnist_mlp_v1_raw',
  'predict_mnist_mlp_v1_typed',
  'predict_mnist_mlp_v2_raw',
  'predict_mnist_mlp_v2_typed',
  'stream_1000',
  'stream_bad_request_in_band',
  'unknown_model_not_found',
  'wrong_datatype_invalid_argument',
  'raw_length_mismatch_invalid_argument',
  'unload_mnist_cnn_unavailable',
  'load_mnist_cnn_predicts',
];

describe('a Python gRPC client of modelserve.v1 (python3-grpcio, stubs from protoc)', () => {
  pythonSuite(
    {
      script: 'client.py',
      repository: fixtureRepository,
      expectations: () => ({
        lcg_check: lcgCheck(),
        unary: [1, 2].flatMap((v) =>
          (['raw', 'typed'] as const).map((format) => ({ name: `predict_mnist_mlp_v${v}_${format}`, format, ...mlpCase(v as 1 | 2, 3, 100 + v) })),
        ),
        stream: { requests: streamCases(), bad_at: 500 },
        cnn: cnnCase(),
      }),
    },
    CHECKS,
  );
});
