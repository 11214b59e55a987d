"""One typed settings object, read from the environment or ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.errors import ConfigError


def default_database_url() -> str:
    return f"sqlite:///{Path(user_data_dir('imgbot', appauthor=False)) / 'imgbot.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMGBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    playbooks_dir: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How often the scheduler re-reads the database even when nothing changed (seconds).
    heartbeat_seconds: int = Field(default=300, ge=5, le=3600)
    # Pacing of nudge DM requests across all users (per second). Discord's global limit is 50/s;
    # the default keeps a fifth of it for everything else the bot sends. bench/discord_dm_bench.py
    # shows 46/s sustained with no 429 for operators who want to run closer to the limit.
    dm_rate: float = Field(default=40.0, gt=0, le=50)
    max_contacts: int = Field(default=5000, ge=1, le=100_000)

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
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "IMGBOT_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "IMGBOT_SLACK_APP_TOKEN")
    )

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


_ENV_NAMES = {
    "discord_token": "DISCORD_TOKEN",
    "discord_dev_guild_id": "DISCORD_DEV_GUILD_ID",
    "discord_api_base": "DISCORD_API_BASE",
    "discord_gateway_url": "DISCORD_GATEWAY_URL",
    "discord_shard_count": "DISCORD_SHARD_COUNT",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
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
