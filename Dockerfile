# syntax=docker/dockerfile:1
# Build stage: full dependencies, compile TypeScript.
FROM node:26-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY protos ./protos
COPY src ./src
COPY testbed ./testbed
RUN npm run build && npm prune --omit=dev

# Final stage: production dependencies and the compiled agent only.
FROM node:26-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
# Heap caps measured in BENCHMARKS.md (agent-rss): a small young generation keeps RSS
# flat between scans; 128 MiB of old space leaves room for nodes with ~10,000 images.
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=2"
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/protos ./protos
# The CRI socket (/run/containerd/containerd.sock) is root:root 0660 on stock nodes, so
# the process runs as root with every capability dropped, no privilege escalation and a
# read-only root filesystem (see deploy/). On nodes whose socket group is readable by a
# dedicated GID, run as that user instead: USER 65532:<gid>.
USER 0:0
# Port of the HTTP API and /metrics (`--listen`).
EXPOSE 9420
# node handles SIGTERM itself: the agent stops scanning, closes the server and exits 0.
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["agent"]
