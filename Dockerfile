# IMG Peer Bot: `docker build -t imgbot . && docker run -e DISCORD_TOKEN=... -v imgbot-data:/data imgbot`
# With PostgreSQL and two replicas: `docker compose up` (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IMGBOT_DATABASE_URL=sqlite:////data/imgbot.db \
    IMGBOT_HTTP_PORT=8080

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY playbooks ./playbooks
RUN pip install ".[postgres]" \
    && useradd --create-home --uid 10001 imgbot \
    && mkdir -p /data && chown imgbot /data \
    && rm -rf /src

WORKDIR /home/imgbot
USER imgbot
VOLUME ["/data"]
EXPOSE 8080
# The slim image has no curl: python's urllib fails (exit 1) on a refused connection or a non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('IMGBOT_HTTP_PORT', '8080'), timeout=4)"]
CMD ["imgbot", "run"]
