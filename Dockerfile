# modelserve: the `modelserve serve` command with the bundled demo models.
#
#   docker build -t modelserve:0.1.0 .
#   docker run --rm -p 8001:8001 -p 8002:8002 modelserve:0.1.0
#   docker run --rm -p 8001:8001 -v "$PWD/models:/models:ro" modelserve:0.1.0 --model-repository /models
#
# Kubernetes manifests: deploy/k8s (README there).

# Build: install the workspace, build it, then copy the CLI with its production dependencies only.
FROM node:20-slim AS build
# better-sqlite3 (optional, for --jobs-dir) is compiled from source when no prebuilt binary downloads.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
RUN npm install -g pnpm@10.34.9
# onnxruntime-node's CPU libraries are in its npm package; its install script would fetch CUDA
# libraries modelserve does not use (pnpm skips it anyway: ignoredBuiltDependencies).
# node-gyp uses the image's own headers instead of downloading them.
ENV ONNXRUNTIME_NODE_INSTALL=skip \
    npm_config_nodedir=/usr/local \
    CI=true
WORKDIR /src
# The packages first, from the lockfile alone: this layer stays cached until pnpm-lock.yaml changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm --filter "@modelserve/cli..." run build
# --prod: no devDependencies. --legacy: pnpm 10's deploy otherwise needs inject-workspace-packages.
# Then onnxruntime-node's macOS and Windows binaries go (220 MB of its 290).
RUN pnpm --filter @modelserve/cli deploy --prod --legacy /out \
  && rm -rf /out/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*/darwin \
            /out/node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/bin/napi-v*/win32

# Runtime: the deployed tree only, as the image's unprivileged `node` user (uid 1000).
FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=root:root /out /app
USER node
# 8001: gRPC (and grpc.health.v1); 8002: Prometheus /metrics.
EXPOSE 8001 8002
ENTRYPOINT ["node", "/app/dist/cli.js", "serve"]
# The bundled demo repository (/app/models); pass --model-repository DIR for your own.
CMD ["--model-repository", "/app/models"]
