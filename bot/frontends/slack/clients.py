"""Every Slack Web API client the bot creates: SLACK_API_BASE, the retry handlers and one shared
HTTP session (:class:`Connections`)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
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
TIMEOUT = 30.0  # seconds for one request, slack_sdk's default


class Connections:
    """One aiohttp session for every Web API call and ``response_url`` post the bot makes.

    Without a session, slack_sdk makes a new aiohttp session, so a new TCP (and TLS) connection,
    for every request and closes it after; with this one, connections to Slack are kept alive and
    reused (aiohttp's pool: at most 100 open). The session is made on first use, inside the event
    loop, and closed by :meth:`close`."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


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
    settings: Settings,
    token: str | None = None,
    on_limited: Callable[[str, float], None] | None = None,
    session: aiohttp.ClientSession | None = None,
) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=api_base(settings.slack_api_base),
        retry_handlers=retry_handlers(on_limited),
        session=session,
        timeout=int(TIMEOUT),
    )


def webhook(url: str, session: aiohttp.ClientSession | None = None) -> AsyncWebhookClient:
    return AsyncWebhookClient(url=url, retry_handlers=retry_handlers(), session=session, timeout=int(TIMEOUT))
