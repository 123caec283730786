# syntax=docker/dockerfile:1
# The flash-sale node: one image for every role (SERVICES picks gateway, inventory,
# orders, payments, sweeper). Build: docker build -t flash-sale .
#
# Stage 1 installs the runtime dependencies only (no devDependencies: the `node@22`
# devDependency that npm scripts use is not needed, the base image is Node 22).
# Stage 2 is those plus the sources, run by Node directly as a non-root user: no npm
# and no shell between the container's PID 1 and Node, so SIGTERM reaches the process
# and the graceful shutdown (readiness 503, drain, ack, exit) runs.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="flash-sale" \
      org.opencontainers.image.description="Flash-sale backend: Moleculer services, Redis Cluster Lua reservations, NATS JetStream, PostgreSQL"
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    TRANSPORTER=nats
WORKDIR /app
# root owns the files, the node user only reads them
COPY --from=deps /app/node_modules ./node_modules
COPY package.json moleculer.config.ts ./
COPY scripts/run.ts scripts/migrate.ts scripts/setup-streams.ts scripts/repl.ts scripts/probe.ts ./scripts/
COPY services ./services
COPY src ./src
COPY entities ./entities
COPY migrations ./migrations
USER node
EXPOSE 3000 9100
# liveness: GET /health/live on the gateway's PORT; a node without the gateway is
# alive while its METRICS_PORT answers (scripts/probe.ts)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "scripts/probe.ts", "live"]
STOPSIGNAL SIGTERM
CMD ["node", "--experimental-async-context-frame", "scripts/run.ts"]
