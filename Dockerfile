# syntax=docker/dockerfile:1
# The conventional build, for machines with a container engine. `npm run image` assembles
# the same image without one (scripts/build-image.ts); test/unit/image.test.ts keeps the
# two in step: files under /app, entrypoint, cmd, env, user, working dir, exposed port.

# Build stage: full dependencies, compile TypeScript, production dependencies, SBOM.
FROM node:26-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY protos ./protos
COPY src ./src
COPY testbed ./testbed
RUN npm run build && npm prune --omit=dev --omit=optional --ignore-scripts \
 && npm sbom --sbom-format cyclonedx --omit dev --omit optional --package-lock-only > /sbom.cdx.json

# Final stage: production dependencies and the compiled agent only.
FROM node:26-bookworm-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tagdrift" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/tagdrift/tagdrift" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# Heap caps measured in BENCHMARKS.md (agent-rss): a small young generation keeps RSS
# flat between scans; 128 MiB of old space leaves room for nodes with ~10,000 images.
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=2"
# glibc malloc: two arenas; blocks of 16 KiB and more mapped on their own and returned
# when freed, so a scan's transient buffers do not stay in RSS (BENCHMARKS.md, image-rss).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=16384 MALLOC_TRIM_THRESHOLD_=65536
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/protos ./protos
COPY --from=build /sbom.cdx.json /usr/share/doc/tagdrift/sbom.cdx.json
# The CRI socket (/run/containerd/containerd.sock) is root:root 0660 on stock nodes, so
# the process runs as root with every capability dropped, no privilege escalation and a
# read-only root filesystem (see deploy/). On nodes whose socket group is readable by a
# dedicated GID, run as that user instead: USER 65532:<gid>.
USER 0:0
# Port of the HTTP API and /metrics (`--listen`).
EXPOSE 9420
# node handles SIGTERM itself: the agent stops scanning, closes the server and exits 0.
# --lite-mode trades CPU on a scan every 5 minutes for ~14 MiB of RSS; --no-node-snapshot
# ~50 ms at start for ~4 MiB of the binary's pages; --expose-gc lets the agent collect once
# after each scan (BENCHMARKS.md, image-rss).
ENTRYPOINT ["node", "--lite-mode", "--no-node-snapshot", "--expose-gc", "/app/dist/src/cli/main.js"]
CMD ["agent"]
