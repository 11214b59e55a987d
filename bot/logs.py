"""Process logging: text for a terminal, one JSON object per line for a log pipeline.

Every line carries the instance id, so lines from several replicas can be told apart.
Callers never log names, emails or message text; nothing here redacts, by design.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s {instance} %(name)s: %(message)s"


def new_instance_id() -> str:
    """``hostname-pid-xxxx``: short, unique enough across replicas, and safe to log."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:32].strip("-") or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(2)}"


class JsonFormatter(logging.Formatter):
    def __init__(self, instance: str) -> None:
        super().__init__()
        self.instance = instance

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "instance": self.instance,
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _ImgbotHandler(logging.StreamHandler[TextIO]):
    """Marks the handler setup_logging installed, so a second call replaces it."""


def setup_logging(
    level: str, fmt: Literal["text", "json"], instance: str, *, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger to ``stream`` (stderr) at ``level``; discord.py stays at INFO or above."""
    levels = logging.getLevelNamesMapping()
    name = level.upper()
    if name not in levels:
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown log format {fmt!r}")
    handler = _ImgbotHandler(stream if stream is not None else sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(instance))
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT.format(instance=instance.replace("%", "%%"))))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ImgbotHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(levels[name])
    logging.getLogger("discord").setLevel(max(logging.INFO, levels[name]))
    return handler
