# IMG Peer Bot: `docker build -t imgbot . && docker run -e DISCORD_TOKEN=... -v imgbot-data:/data imgbot`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    IMGBOT_DATABASE_URL=sqlite:////data/imgbot.db

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY playbooks ./playbooks
RUN pip install . \
    && useradd --create-home --uid 10001 imgbot \
    && mkdir -p /data && chown imgbot /data \
    && rm -rf /src

WORKDIR /home/imgbot
USER imgbot
VOLUME ["/data"]
CMD ["imgbot", "run"]
