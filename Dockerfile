# Holdfast in a container, for NAS boxes: the daemon (owner and host) with its home on a volume and the
# data to back up mounted read-only. See README.md ("Running in a container") and compose.yaml.
#
#   docker build -t holdfast .
#
# Build stage: compiles the TypeScript, the dashboard and the native kernels (erasure coding, Merkle
# roots), then drops the build-only packages.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# the native addons build against the headers that come with the image's Node (no download from nodejs.org)
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY . .
# npm ci builds the native addons and runs `prepare` (npm run build: dist/ and dist/web/)
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# Run stage: Node and what the daemon loads, nothing else (no compiler, no dev packages).
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOLDFAST_HOME=/var/lib/holdfast \
    MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/config ./config
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/Release/*.node ./build/Release/
COPY --from=build /app/node_modules ./node_modules
RUN ln -s /app/bin/holdfast /usr/local/bin/holdfast \
 && mkdir -p /var/lib/holdfast \
 && chown node:node /var/lib/holdfast
# the home (identity, keys, the local index, the shards kept for peers) lives on this volume
VOLUME ["/var/lib/holdfast"]
USER node
# 4801: libp2p (peers); 8486: the dashboard, REST API and /metrics (see gui.listen in node.json)
EXPOSE 4801/tcp 8486/tcp
# the daemon answers /healthz (no credentials) on its dashboard's address, HTTP or HTTPS (daemon.json names it)
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s \
  CMD node -e "const u=require('/var/lib/holdfast/daemon.json').gui;process.env.NODE_TLS_REJECT_UNAUTHORIZED='0';fetch(u+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
ENTRYPOINT ["holdfast"]
CMD ["daemon"]
