# Image for the API and the worker (docker-compose.yml runs both from it).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY config ./config
COPY migrations ./migrations
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev
USER node
