# One image for every snap-engine service; the arguments pick the role:
#   processor | feed massive|databento|dbn … | sink lake|redis | gateway | topics apply | schemas register | replay …
# Not used by the tests (no Docker engine on the build machines); `k8s/` deploys it (docs/RUNBOOK.md "Deploy").
# Runs as uid 1000 (numeric, so Kubernetes' runAsNonRoot can verify it) with a read-only root filesystem: the app
# writes only to mounted volumes (/tmp, /var/lib/snap).
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libzstd-dev libssl-dev libsasl2-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY schemas ./schemas
COPY scripts/build.js ./scripts/build.js
COPY ui ./ui
# npm ci runs `prepare` = scripts/build.js: the TypeScript compiled once into dist/ (esbuild, a dev dependency, hence
# the full install) and the Angular dashboard built into ui/dist (Angular is a dev dependency of the ui workspace: the
# gateway serves the built files only), then dev dependencies are pruned. The CLI runs from dist/ (services/cli/bin/compiled.js), no tsx.
RUN npm ci --no-audit --no-fund --include=optional && test -f dist/BUILD.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libzstd1 libssl3 libsasl2-2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=0:0 /app /app
# The node image's unprivileged user; the code is owned by root and not writable by it.
USER 1000:1000
ENV NODE_ENV=production LOG_LEVEL=info
ENTRYPOINT ["node", "services/cli/bin/snap-engine.js"]
CMD ["--help"]
