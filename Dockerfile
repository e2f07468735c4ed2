# One image for every snap-engine service (processor, feeds, sinks); the command picks the role.
# Not used by the tests (no Docker engine on the build machines); `k8s/` deploys it.
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libzstd-dev libssl-dev libsasl2-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
COPY services ./services
COPY schemas ./schemas
RUN npm ci --no-audit --no-fund --omit=dev --include=optional && npm install --no-save --no-audit --no-fund tsx

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libzstd1 libssl3 libsasl2-2 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
USER node
ENV NODE_ENV=production LOG_LEVEL=info
ENTRYPOINT ["node", "services/cli/bin/snap-engine.js"]
CMD ["--help"]
