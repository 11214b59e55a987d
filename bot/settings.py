"""One typed settings object, read from the environment or ``.env``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.errors import ConfigError


def default_database_url() -> str:
    return f"sqlite:///{Path(user_data_dir('imgbot', appauthor=False)) / 'imgbot.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMGBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    playbooks_dir: Path | None = None
    # Keep the validated playbook library in the user's cache directory between starts (see
    # bot.core.playbooks.loader.load_playbooks); false always parses and validates the files.
    playbook_cache: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How often the scheduler re-reads the database even when nothing changed (seconds).
    heartbeat_seconds: int = Field(default=300, ge=5, le=3600)
    # Pacing of nudge DM requests across all users (per second). Discord's global limit is 50/s;
    # the default keeps a fifth of it for everything else the bot sends. bench/discord_dm_bench.py
    # shows 46/s sustained with no 429 for operators who want to run closer to the limit.
    dm_rate: float = Field(default=40.0, gt=0, le=50)
    max_contacts: int = Field(default=5000, ge=1, le=100_000)
    # The ops HTTP server (/healthz, /readyz, /metrics); unset means none. 0 binds a free port.
    http_port: int | None = Field(default=None, ge=0, le=65535)
    http_host: str = "0.0.0.0"
    log_format: Literal["text", "json"] = "text"
    # Names this process in logs, metrics and nudge leases; unset means hostname-pid-random.
    instance_id: str | None = None
    # How long an instance owns the nudges it claimed before another may take them over.
    lease_seconds: int = Field(default=60, ge=10, le=3600)
    db_pool_size: int = Field(default=10, ge=1, le=100)

    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_TOKEN", "IMGBOT_DISCORD_TOKEN")
    )
    discord_dev_guild_id: int | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_DEV_GUILD_ID", "IMGBOT_DISCORD_DEV_GUILD_ID")
    )
    discord_api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_API_BASE", "IMGBOT_DISCORD_API_BASE")
    )
    discord_gateway_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_GATEWAY_URL", "IMGBOT_DISCORD_GATEWAY_URL")
    )
    discord_shard_count: int | None = Field(
        default=None, ge=1, validation_alias=AliasChoices("DISCORD_SHARD_COUNT", "IMGBOT_DISCORD_SHARD_COUNT")
    )
    # The shards this process runs, e.g. ``0,1``; unset means all of DISCORD_SHARD_COUNT.
    discord_shard_ids: Annotated[list[int] | None, NoDecode] = Field(
        default=None, validation_alias=AliasChoices("DISCORD_SHARD_IDS", "IMGBOT_DISCORD_SHARD_IDS")
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "IMGBOT_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "IMGBOT_SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "IMGBOT_SLACK_SIGNING_SECRET")
    )
    slack_client_id: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "IMGBOT_SLACK_CLIENT_ID")
    )
    slack_client_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "IMGBOT_SLACK_CLIENT_SECRET")
    )
    slack_api_base: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_API_BASE", "IMGBOT_SLACK_API_BASE")
    )
    # Pacing of nudge DM requests per Slack workspace (per second). Each DM is its own channel,
    # so Slack's 1 message/s per channel never binds; this keeps a workspace's burst modest.
    slack_dm_rate: float = Field(default=5.0, gt=0, le=100)
    # Seals the Slack bot tokens kept for OAuth installs (Fernet; comma-separated, the first seals).
    secret_key: SecretStr | None = None

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise ValueError("use sqlite:///path/to/imgbot.db or postgresql://user:pass@host/db")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("instance_id")
    @classmethod
    def _instance_id(cls, value: str | None) -> str | None:
        if value is not None and not _INSTANCE_ID.fullmatch(value):
            raise ValueError("use 1 to 64 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _split_shard_ids(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        parts = [p.strip() for p in value.split(",")]
        if not all(p.isdigit() for p in parts):
            raise ValueError("use comma-separated shard numbers (0 or more), e.g. 0,1")
        return [int(p) for p in parts]

    @field_validator("discord_shard_ids")
    @classmethod
    def _check_shard_ids(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one shard number, e.g. 0,1")
        if any(i < 0 for i in value):
            raise ValueError("shard numbers cannot be negative")
        if len(set(value)) != len(value):
            raise ValueError("a shard number is listed twice")
        count = info.data.get("discord_shard_count")
        if count is None:
            raise ValueError("set DISCORD_SHARD_COUNT too (discord.py needs it with manual shard ids)")
        if max(value) >= count:
            raise ValueError(f"each shard number must be below DISCORD_SHARD_COUNT ({count}), from 0 to {count - 1}")
        return sorted(value)

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from bot.store.secrets import check_keys  # cryptography only when a key is set

            check_keys(_split_keys(value))
        return value

    @property
    def playbook_cache_dir(self) -> Path | None:
        if not self.playbook_cache:
            return None
        return Path(user_cache_dir("imgbot", appauthor=False))

    @property
    def secret_keys(self) -> list[str]:
        return _split_keys(self.secret_key)

    @field_validator("slack_api_base")
    @classmethod
    def _slack_api_base(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("use an http:// or https:// URL, e.g. https://slack.com/api/")
        return value


def _split_keys(value: SecretStr | None) -> list[str]:
    if value is None:
        return []
    return [k.strip() for k in value.get_secret_value().split(",") if k.strip()]


_INSTANCE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


_ENV_NAMES = {
    "discord_token": "DISCORD_TOKEN",
    "discord_dev_guild_id": "DISCORD_DEV_GUILD_ID",
    "discord_api_base": "DISCORD_API_BASE",
    "discord_gateway_url": "DISCORD_GATEWAY_URL",
    "discord_shard_count": "DISCORD_SHARD_COUNT",
    "discord_shard_ids": "DISCORD_SHARD_IDS",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "slack_api_base": "SLACK_API_BASE",
}


def load_settings(**overrides: object) -> Settings:
    """Read settings; on a bad value raise ConfigError with one clear line.

    The line names the variable and what is wrong, never the value: a database URL or a
    token holds a password, and this line goes to stderr and logs.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False, include_context=False)[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        # A field read through an alias reports the alias (DISCORD_TOKEN), others the field name.
        env = field if field in _ENV_NAMES.values() else _ENV_NAMES.get(field, f"IMGBOT_{field.upper()}")
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {env}: {msg}") from None
