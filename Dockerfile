# social-inbox production image: slim Python, dependencies in their own layer, non-root user.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# 1. dependencies only (cached until pyproject.toml changes)
COPY pyproject.toml README.md ./
RUN mkdir -p inbox connectors routing_models && touch inbox/__init__.py connectors/__init__.py routing_models/__init__.py \
 && pip install . && pip uninstall -y social-inbox && rm -rf inbox connectors routing_models

# 2. the application
COPY inbox ./inbox
COPY connectors ./connectors
COPY routing_models ./routing_models
COPY config ./config
RUN pip install --no-deps . \
 && useradd --create-home --uid 10001 inbox \
 && mkdir -p /app/var && chown -R inbox:inbox /app/var
USER inbox
ENV INBOX_CONFIG=/app/config/inbox.toml INBOX_DATABASE_URL=sqlite+aiosqlite:////app/var/inbox.db
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/api/v1/health', timeout=4).status == 200 else 1)"
# `init` is idempotent: migrations to head, teams, default model; then serve
ENTRYPOINT ["sh", "-c", "social-inbox init >/dev/null && exec social-inbox serve --host 0.0.0.0 --port 8080 \"$@\"", "--"]
CMD ["--role", "all"]
