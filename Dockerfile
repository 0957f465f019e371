# social-inbox production image: slim Python, dependencies in their own layer, non-root user.
#   docker build -t social-inbox .
#   docker run -p 8080:8080 -v inbox-var:/app/var social-inbox                 # one instance, SQLite
#   docker run ... -e INBOX_DATABASE_URL=postgresql+asyncpg://... social-inbox serve --role web
# Several instances on one PostgreSQL: deploy/docker-compose.yml and docs/deployment.md.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# DejaVu Sans for the brief's PDF (Italian accents and most scripts; without it: Helvetica, Latin-1 only)
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*

# 1. dependencies only (cached until pyproject.toml changes)
COPY pyproject.toml README.md ./
RUN mkdir -p inbox connectors routing_models && touch inbox/__init__.py connectors/__init__.py routing_models/__init__.py \
 && pip install . && pip uninstall -y social-inbox && rm -rf inbox connectors routing_models

# 2. the application (routing_models/artifacts/default.skops, when present, is the bundled model)
COPY inbox ./inbox
COPY connectors ./connectors
COPY routing_models ./routing_models
COPY config ./config
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN pip install --no-deps . \
 && useradd --create-home --uid 10001 inbox \
 && mkdir -p /app/var/models && chown -R inbox:inbox /app/var \
 && chmod 0755 /usr/local/bin/docker-entrypoint.sh
USER inbox
# /app/var: the SQLite file of a single instance, and var/models: trained model versions. With
# several instances, mount ONE shared volume at /app/var/models in all of them (a model trained or
# promoted on one instance is loaded from that path by the others).
VOLUME ["/app/var"]
ENV INBOX_CONFIG=/app/config/inbox.toml \
    INBOX_DATABASE_URL=sqlite+aiosqlite:////app/var/inbox.db \
    INBOX_MODEL_DIR=/app/var/models \
    INBOX_SERVER__HOST=0.0.0.0 \
    INBOX_SERVER__PORT=8080
EXPOSE 8080
# SIGTERM stops the web server and the scheduler cleanly (leases are released or simply expire)
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/api/v1/health', timeout=4).status == 200 else 1)"
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["serve", "--role", "all"]
