"""Every Slack Web API client the bot creates: SLACK_API_BASE and the retry handlers."""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.settings import Settings

DEFAULT_API_BASE = "https://slack.com/api/"


def api_base(url: str | None) -> str:
    """SLACK_API_BASE with the trailing slash slack_sdk needs; Slack's own by default."""
    return (url or DEFAULT_API_BASE).rstrip("/") + "/"


class PacedRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (it sleeps for Retry-After, then retries), which also tells the
    caller's pacer, so requests not yet sent wait too instead of meeting the same 429."""

    def __init__(self, on_limited: Callable[[str, float], None] | None = None, **kw: int) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.on_limited = on_limited

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if self.on_limited is not None and response is not None:
            wait = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
            try:
                seconds = float(wait[0])
            except (TypeError, ValueError, IndexError):
                seconds = 1.0
            self.on_limited(request.url.rsplit("/", 1)[-1], seconds)
        await super().prepare_for_next_attempt_async(state=state, request=request, response=response, error=error)


def retry_handlers(on_limited: Callable[[str, float], None] | None = None) -> list[AsyncRetryHandler]:
    """On every client: wait out 429s (Retry-After), retry 5xx answers and dropped connections.
    ``on_limited(method, seconds)`` hears of each 429 (the DM port holds its pacer)."""
    return [
        PacedRateLimitHandler(on_limited, max_retry_count=10),
        AsyncServerErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=3),
    ]


def make_client(
    settings: Settings, token: str | None = None, on_limited: Callable[[str, float], None] | None = None
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token, base_url=api_base(settings.slack_api_base), retry_handlers=retry_handlers(on_limited)
    )


def webhook(url: str) -> AsyncWebhookClient:
    return AsyncWebhookClient(url=url, retry_handlers=retry_handlers())
