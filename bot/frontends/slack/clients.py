"""Every Slack Web API client the bot creates: SLACK_API_BASE and the retry handlers."""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.settings import Settings

DEFAULT_API_BASE = "https://slack.com/api/"


def api_base(url: str | None) -> str:
    """SLACK_API_BASE with the trailing slash slack_sdk needs; Slack's own by default."""
    return (url or DEFAULT_API_BASE).rstrip("/") + "/"


def retry_handlers() -> list[AsyncRetryHandler]:
    """On every client: wait out 429s (Retry-After), retry 5xx answers and dropped connections."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=10),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
    ]


def make_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=api_base(settings.slack_api_base), retry_handlers=retry_handlers())


def webhook(url: str) -> AsyncWebhookClient:
    return AsyncWebhookClient(url=url, retry_handlers=retry_handlers())
