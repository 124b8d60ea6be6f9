#!/usr/bin/env bash
# Generates Python gRPC stubs for modelserve's protos and the gRPC health proto into OUT
# (default: test/interop/gen, git-ignored). Generated code is never committed: the .proto
# files are the contract, and regenerating proves a stock protoc can compile them. The interop
# suites use it, and so does examples/python/client.py on its first run.
#
# Needs Debian's protobuf-compiler (protoc) and protobuf-compiler-grpc (grpc_python_plugin).
# Usage: test/interop/gen_stubs.sh [OUT]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$here/gen}"
plugin="${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}"

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }
[ -x "$plugin" ] || { echo "$plugin not found: apt-get install -y protobuf-compiler-grpc" >&2; exit 1; }

# health.proto ships inside the grpc-health-check npm package the server already depends on,
# so no extra apt package (grpc-proto) is needed. Resolve it the way Node would, from the server.
health_proto="${HEALTH_PROTO:-$(cd "$root/packages/server" && node -p \
  "require('node:path').join(require('node:path').dirname(require.resolve('grpc-health-check/package.json')), 'proto/health/v1/health.proto')")}"
[ -f "$health_proto" ] || { echo "health.proto not found at $health_proto (run pnpm install)" >&2; exit 1; }
health_include="${health_proto%/health/v1/health.proto}"

mkdir -p "$out"
# Python modules follow the proto paths: modelserve.v1.predictor_pb2, inference.grpc_service_pb2,
# health.v1.health_pb2
# (namespace packages, so no __init__.py is needed).
protoc -I "$root/proto" -I "$health_include" \
  --python_out="$out" --grpc_out="$out" --plugin=protoc-gen-grpc="$plugin" \
  "$root"/proto/modelserve/v1/*.proto "$root"/proto/inference/*.proto "$health_include/health/v1/health.proto"
