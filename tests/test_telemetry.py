"""PrometheusTelemetry: what core reports shows up in the text format, one registry per app."""

from __future__ import annotations

import asyncio
import math

from prometheus_client.parser import text_string_to_metric_families

from bot.core.telemetry import Telemetry
from bot.telemetry import PrometheusTelemetry


def samples(t: PrometheusTelemetry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(t.render().decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_every_protocol_call_lands_in_its_metric() -> None:
    t: Telemetry = PrometheusTelemetry("web-1")
    t.command("contact add", "ok", 0.003)
    t.command("contact add", "ok", 0.2)
    t.command("contact add", "user_error", 0.001)
    t.delivered("sent", 3)
    t.delivered("failed", 1)
    t.delivery_lag(42.0)
    t.lease_takeover(2)
    t.rate_limited("discord")
    t.rate_limited("discord")
    t.lease_guard("held_back", 1)
    t.lease_guard("mark_lost", 3)
    assert isinstance(t, PrometheusTelemetry)
    got = samples(t)
    assert got[("imgbot_commands_total", (("command", "contact add"), ("outcome", "ok")))] == 2
    assert got[("imgbot_commands_total", (("command", "contact add"), ("outcome", "user_error")))] == 1
    assert got[("imgbot_command_seconds_count", (("command", "contact add"),))] == 3
    assert got[("imgbot_command_seconds_bucket", (("command", "contact add"), ("le", "0.005")))] == 2
    assert math.isclose(got[("imgbot_command_seconds_sum", (("command", "contact add"),))], 0.204)
    assert got[("imgbot_nudges_delivered_total", (("outcome", "sent"),))] == 3
    assert got[("imgbot_nudges_delivered_total", (("outcome", "failed"),))] == 1
    assert got[("imgbot_nudges_delivered_total", (("outcome", "deferred"),))] == 0  # pre-created at 0
    assert got[("imgbot_delivery_lag_seconds_bucket", (("le", "30.0"),))] == 0
    assert got[("imgbot_delivery_lag_seconds_bucket", (("le", "60.0"),))] == 1
    assert got[("imgbot_delivery_lag_seconds_bucket", (("le", "86400.0"),))] == 1
    assert got[("imgbot_lease_takeovers_total", ())] == 2
    assert got[("imgbot_platform_rate_limited_total", (("platform", "discord"),))] == 2
    assert got[("imgbot_lease_guard_total", (("event", "held_back"),))] == 1
    assert got[("imgbot_lease_guard_total", (("event", "mark_lost"),))] == 3
    assert got[("imgbot_instance_info", (("instance", "web-1"),))] == 1


def test_bucket_ranges_cover_a_millisecond_to_a_day() -> None:
    t = PrometheusTelemetry("x")
    t.command("help", "ok", 0.0005)
    t.delivery_lag(0.5)
    got = samples(t)
    cmd = sorted(float(dict(k[1])["le"]) for k in got if k[0] == "imgbot_command_seconds_bucket")
    lag = sorted(float(dict(k[1])["le"]) for k in got if k[0] == "imgbot_delivery_lag_seconds_bucket")
    assert cmd[0] == 0.001 and cmd[-2] == 5.0 and cmd[-1] == math.inf
    assert lag[0] == 1.0 and lag[-2] == 86400.0 and lag[-1] == math.inf


def test_two_instances_in_one_process_do_not_share_metrics() -> None:
    a, b = PrometheusTelemetry("a"), PrometheusTelemetry("b")
    a.rate_limited("slack")
    assert samples(a)[("imgbot_platform_rate_limited_total", (("platform", "slack"),))] == 1
    assert ("imgbot_platform_rate_limited_total", (("platform", "slack"),)) not in samples(b)
    assert ("imgbot_instance_info", (("instance", "a"),)) not in samples(b)


def test_zero_or_negative_counts_are_ignored_not_raised() -> None:
    t = PrometheusTelemetry("x")
    t.delivered("sent", 0)
    t.delivered("sent", -1)
    t.lease_takeover(-3)
    got = samples(t)
    assert got[("imgbot_nudges_delivered_total", (("outcome", "sent"),))] == 0
    assert got[("imgbot_lease_takeovers_total", ())] == 0


async def test_pending_gauge_is_read_from_the_callable_at_scrape_time() -> None:
    backlog = [7]

    async def pending() -> int:
        return backlog[0]

    t = PrometheusTelemetry("x", pending)
    assert math.isnan(samples(t)[("imgbot_nudges_pending", ())])  # never scraped yet
    await t.refresh()
    assert samples(t)[("imgbot_nudges_pending", ())] == 7
    backlog[0] = 12
    body = await t.scrape()
    assert b"imgbot_nudges_pending 12.0" in body


async def test_pending_gauge_is_nan_when_the_source_fails_or_hangs() -> None:
    async def broken() -> int:
        raise ConnectionError("postgresql://u:hunter2@db/x refused")

    async def slow() -> int:
        await asyncio.sleep(5)
        return 1

    t = PrometheusTelemetry("x", broken, pending_timeout=0.05)
    await t.refresh()
    assert math.isnan(samples(t)[("imgbot_nudges_pending", ())])
    t.pending_source = slow
    await t.refresh()
    assert math.isnan(samples(t)[("imgbot_nudges_pending", ())])


def test_content_type_is_the_prometheus_text_format() -> None:
    t = PrometheusTelemetry("x")
    assert t.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert t.render().startswith(b"# HELP ")
