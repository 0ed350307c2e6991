# syntax=docker/dockerfile:1
FROM node:24.22.3-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# Scripts stay off for the dependencies; our own fixes to them (patches/) are applied explicitly.
RUN npm ci --no-audit --no-fund --ignore-scripts && npx patch-package
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24.22.3-slim
ENV NODE_ENV=production PORT=8000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s CMD node -e "fetch('http://127.0.0.1:8000/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Operator commands run from the same image: node dist/cli.js migrate | create-superuser | help
# The memory settings of `npm start` (docs/benchmarks.md, "The database's share, prepared plans
# and memory" and "Versions table, vacuum and memory"): Node 24 sizes the young generation from
# the machine's memory (~100 MB more RSS on a 24 GB host), so 8 MB semi-spaces; the old
# generation grows by 20 % between full collections instead of up to several times; and glibc
# keeps two malloc arenas instead of one per thread that has allocated.
ENV MALLOC_ARENA_MAX=2
CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=20", "dist/server.js"]
