"""One circle progress chart: render time and the memory it adds, through render_chart.

    python bench/circle_chart.py             # 300 timed charts per case after 10 warm-up ones
    python bench/circle_chart.py --small     # 50 timed charts per case

Cases: 8 weeks (what a digest shows) and 52 weeks (the most a chart takes), default 720 x 360
pixels, counts drawn from a seeded random generator, a 40-character title. Each chart is rendered
in a worker thread with ``asyncio.to_thread``, as the digest runs it off the event loop; the time
is taken inside the thread, so it is the chart alone, not the hand-off: wall clock (the target)
and the thread's CPU time (``time.thread_time``), which shows how much of the wall time was spent
waiting for a core on a shared machine.

Memory, from /proc/self/statm (resident pages) and VmHWM in /proc/self/status: the baseline is
this process after importing the bot's core (``bot.core.commands``, as every front end does) and
before Pillow or the chart module is imported. Growth is the resident size after the last chart,
and the peak (VmHWM) during the run, above that baseline; the target is on the peak.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from pathlib import Path

from _common import machine_info, percentile, table

import bot.core.commands  # noqa: F401  (the bot's own imports are part of the baseline)

TARGET_MS = 50.0
TARGET_MIB = 30.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    """Resident set size now, from /proc/self/statm."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 2**20


def hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="50 timed charts per case")
    ap.add_argument("--runs", type=int, help="timed charts per case (default 300)")
    args = ap.parse_args()
    runs = args.runs or (50 if args.small else 300)

    baseline = rss_mib()
    t = time.perf_counter()
    from bot.core.community.chart import WeekPoint, render_chart

    import_ms = (time.perf_counter() - t) * 1000
    after_import = rss_mib()

    rng = random.Random(10)

    def weeks(n: int) -> list[WeekPoint]:
        return [
            WeekPoint(
                label=f"W{i + 1}",
                emails=rng.randint(0, 400),
                contacts=rng.randint(0, 150),
                followups=rng.randint(0, 200),
                conversations=rng.randint(0, 90),
                members=rng.randint(0, 120),
            )
            for i in range(n)
        ]

    title = "IMG Internal Medicine circle, weekly wins"[:40]

    def timed(data: list[WeekPoint]) -> tuple[float, float, int]:
        t, cpu = time.perf_counter(), time.thread_time()
        chart = render_chart(title, data)
        return (time.perf_counter() - t) * 1000, (time.thread_time() - cpu) * 1000, len(chart.png)

    async def run() -> list[list[object]]:
        rows: list[list[object]] = []
        for n in (8, 52):
            data = weeks(n)
            for _ in range(10):
                await asyncio.to_thread(timed, data)
            samples = [await asyncio.to_thread(timed, data) for _ in range(runs)]
            ms = [s[0] for s in samples]
            cpu = [s[1] for s in samples]
            rows.append(
                [
                    f"{n} weeks, 720 x 360",
                    runs,
                    f"{statistics.median(ms):.1f}",
                    f"{percentile(ms, 90):.1f}",
                    f"{percentile(ms, 99):.1f}",
                    f"{max(ms):.1f}",
                    f"{statistics.median(cpu):.1f}",
                    f"{samples[0][2] / 1024:.1f}",
                ]
            )
        return rows

    rows = asyncio.run(run())
    end = rss_mib()
    peak = hwm_mib()

    print(machine_info())
    import PIL

    print(f"Pillow {PIL.__version__}; each chart rendered in a worker thread (asyncio.to_thread)")
    print()
    print(table(["case", "charts", "median ms", "p90", "p99", "max", "CPU ms (median)", "PNG KiB"], rows))
    print()
    mem_rows = [
        ["baseline (bot core imported)", f"{baseline:.1f}", ""],
        [f"chart + Pillow imported ({import_ms:.0f} ms)", f"{after_import:.1f}", f"{after_import - baseline:+.1f}"],
        ["after the last chart", f"{end:.1f}", f"{end - baseline:+.1f}"],
        ["peak during the run (VmHWM)", f"{peak:.1f}", f"{peak - baseline:+.1f}"],
    ]  # fmt: skip
    print(table(["resident memory", "MiB", "above baseline"], mem_rows))
    medians = [float(str(r[2])) for r in rows]
    growth = peak - baseline
    ok_time = medians[0] <= TARGET_MS
    ok_mem = growth <= TARGET_MIB
    print(
        f"\ntarget one chart (8 weeks) <= {TARGET_MS:.0f} ms median: {'PASS' if ok_time else 'FAIL'}"
        f" ({medians[0]:.1f} ms; 52 weeks {medians[1]:.1f} ms)"
    )
    print(f"target <= {TARGET_MIB:.0f} MiB above baseline (peak): {'PASS' if ok_mem else 'FAIL'} ({growth:+.1f} MiB)")
    return 0 if ok_time and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
