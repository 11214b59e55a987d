"""The Dockerfile and docker-compose.yml say what the deployment needs (no Docker engine here to build them)."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DB_URL = "postgresql://imgbot:imgbot@db/imgbot"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            op, _, args = line.strip().partition(" ")
            out.append((op.upper(), args.strip()))
    return out


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_dockerfile_is_slim_non_root_with_postgres_port_and_healthcheck() -> None:
    ins = dockerfile()
    ops = [op for op, _ in ins]
    args = {op: a for op, a in ins}
    assert args["FROM"] == "python:3.11-slim"
    assert re.search(r'pip install "?\.\[postgres\]"?', args["RUN"])
    assert args["USER"] == "imgbot"
    assert args["EXPOSE"] == "8080"
    assert "IMGBOT_HTTP_PORT=8080" in args["ENV"].split()
    assert json.loads(args["CMD"]) == ["imgbot", "run"]
    assert ops.count("HEALTHCHECK") == 1
    assert ops.index("USER") < ops.index("CMD")
    check = args["HEALTHCHECK"]
    assert "curl" not in check and "wget" not in check  # neither is in the slim image
    exec_form = json.loads(check.split(" CMD ", 1)[1])
    assert exec_form[:2] == ["python", "-c"]
    code = exec_form[2]
    assert "http://127.0.0.1:%s/healthz" in code and "'IMGBOT_HTTP_PORT', '8080'" in code


def _healthcheck_code() -> str:
    check = dict(dockerfile())["HEALTHCHECK"]
    return str(json.loads(check.split(" CMD ", 1)[1])[2])


def _run_check(port: int) -> int:
    env = {**os.environ, "IMGBOT_HTTP_PORT": str(port)}
    return subprocess.run([sys.executable, "-c", _healthcheck_code()], env=env, capture_output=True).returncode


def test_healthcheck_passes_on_200_and_fails_otherwise() -> None:
    status = {"code": 200}
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(status["code"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert _run_check(port) == 0
        status["code"] = 503
        assert _run_check(port) != 0
    finally:
        server.shutdown()
        server.server_close()
    assert paths == ["/healthz", "/healthz"]
    assert _run_check(port) != 0  # nothing listening


def test_compose_services() -> None:
    c = compose()
    assert set(c["services"]) == {"db", "migrate", "bot"}
    db, migrate, bot = (c["services"][s] for s in ("db", "migrate", "bot"))

    assert db["image"] == "postgres:15"
    assert db["environment"] == {"POSTGRES_USER": "imgbot", "POSTGRES_PASSWORD": "imgbot", "POSTGRES_DB": "imgbot"}
    volume = db["volumes"][0].split(":")[0]
    assert volume in c["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    assert migrate["build"] == "."
    assert migrate["command"] == ["imgbot", "db", "migrate"]
    assert migrate["environment"]["IMGBOT_DATABASE_URL"] == DB_URL
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"

    assert bot["build"] == "."
    assert bot["command"] == ["imgbot", "run"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    env = bot["environment"]
    assert env["IMGBOT_DATABASE_URL"] == DB_URL
    assert env["IMGBOT_LOG_FORMAT"] == "json"
    for token in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        assert token in env and env[token] is None  # no value: compose passes the host's through
    assert "healthcheck" not in bot  # the image's HEALTHCHECK applies
    # Replicas cannot share a fixed container name or host port.
    assert "container_name" not in bot and "ports" not in bot
