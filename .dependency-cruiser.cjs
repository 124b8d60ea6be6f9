/**
 * The package boundaries of ../shared/DESIGN.md and "no import cycles", checked by
 * dependency-cruiser in `pnpm lint`. Workspace packages resolve to their real folders, so a rule
 * on `^packages/core/` catches `@modelserve/core` as well as relative paths.
 */
const pkg = (names) => `^packages/(${names})/`;
/** A workspace package by folder or, when unresolved (not a declared dependency), by name. */
const ws = (names) => [pkg(names), `^@modelserve/(${names})(/|$)`];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make load order fragile.', from: {}, to: { circular: true } },
    {
      name: 'proto-imports-only-proto-loader',
      severity: 'error',
      comment: '@modelserve/proto is the bottom layer: contracts and the codec.',
      from: { path: pkg('proto') },
      to: { path: [...ws('core|server|client|model-zoo'), '^apps/'] },
    },
    {
      name: 'proto-uses-grpc-js-types-only',
      severity: 'error',
      comment:
        "Contracts need no transport at runtime: grpc-js objects come from the caller's grpc-js (loadGrpcObject takes its " +
        'loadPackageDefinition); generated types may name grpc-js types, and tests may load grpc-js to check the result.',
      from: { path: pkg('proto'), pathNot: '\\.test\\.ts$' },
      to: { path: '(^|/)@grpc/grpc-js(/|$)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'core-is-transport-free',
      severity: 'error',
      comment: 'Core knows nothing of gRPC or protobuf; the server converts at the edge.',
      from: { path: pkg('core') },
      to: { path: [...ws('proto|server|client'), '^apps/', '(^|/)@grpc/', '(^|/)protobufjs(/|$)'] },
    },
    {
      name: 'onnxruntime-only-in-backend-files',
      severity: 'error',
      comment: 'Only the onnxruntime backend and the pool thread it runs on may load onnxruntime.',
      from: { path: pkg('core'), pathNot: ['^packages/core/src/backend-onnxruntime[^/]*$', '^packages/core/src/pool-worker\\.js$', '\\.test\\.ts$'] },
      to: { path: '(^|/)onnxruntime-(node|common)(/|$)' },
    },
    {
      name: 'server-does-not-import-client',
      severity: 'error',
      from: { path: pkg('server') },
      to: { path: [...ws('client'), '^apps/'] },
    },
    {
      name: 'client-does-not-import-server',
      severity: 'error',
      from: { path: pkg('client') },
      to: { path: [...ws('server'), '^apps/'] },
    },
    {
      name: 'remote-client-does-not-load-core',
      severity: 'error',
      comment:
        "@modelserve/client must not pull in onnxruntime: only its ./local entry (the in-process twin) uses core; the rest may use core's dependency-free error table (@modelserve/core/errors).",
      from: { path: pkg('client'), pathNot: ['^packages/client/src/local(\\.test)?\\.ts$'] },
      to: { path: [...ws('core'), '(^|/)onnxruntime-(node|common)(/|$)'], pathNot: ['^packages/core/(src/errors\\.ts|dist/errors\\.(js|d\\.ts))$', '^@modelserve/core/errors$'] },
    },
    {
      name: 'core-errors-stand-alone',
      severity: 'error',
      comment: 'The error table is imported by the remote client, so it must load nothing else.',
      from: { path: '^packages/core/src/errors\\.ts$' },
      to: {},
    },
    {
      name: 'model-zoo-stands-alone',
      severity: 'error',
      comment: 'The model generators are shared by the demo and the tests, and depend on no serving code.',
      from: { path: pkg('model-zoo') },
      to: { path: [...ws('proto|core|server|client'), '^apps/'] },
    },
    {
      name: 'jobs-are-transport-free',
      severity: 'error',
      comment: 'Batch jobs run on core (and their stores); the server converts their API at the edge, as it does core\'s.',
      from: { path: pkg('jobs') },
      to: { path: [...ws('proto|server|client|telemetry'), '^apps/', '(^|/)@grpc/', '(^|/)protobufjs(/|$)'] },
    },
    {
      name: 'autoscale-is-pure',
      severity: 'error',
      comment: 'The autoscaling policy and its simulation are pure computation: no other package, no transport, no processes.',
      from: { path: pkg('autoscale') },
      to: { path: [...ws('proto|core|server|client|jobs|telemetry|model-zoo'), '^apps/', '(^|/)@grpc/', '^(node:)?(child_process|net|http|http2|worker_threads)$'] },
    },
    {
      name: 'only-public-entries-across-packages',
      severity: 'error',
      comment: "Apps, tests and other packages use packages' public entries, never their src/ internals.",
      from: { path: '^(packages/[^/]+|apps/[^/]+|test)/' },
      to: { path: '^packages/[^/]+/src/', pathNot: '^$1/' },
    },
    {
      name: 'no-imports-from-tests',
      severity: 'error',
      from: { pathNot: '^test/|\\.test\\.ts$|/testing/' },
      to: { path: '^test/|\\.test\\.ts$' },
    },
  ],
  options: {
    // Built output is where workspace packages resolve to: a leaf to check rules against, not to walk.
    doNotFollow: { path: ['node_modules', '/dist/'] },
    exclude: { path: '^packages/proto/src/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
