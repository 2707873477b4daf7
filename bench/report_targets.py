"""The targets table of bench/RESULTS.md: each target with the measured figure and whether it was met."""

from __future__ import annotations

from report_tables import table


def targets(data: dict) -> list[str]:
    """The issue's targets, each with the measured figure and whether it was met."""
    default = "Lumyx (SQLite)"
    rows = []
    for name, limit in ((default, 0.8), ("Lumyx (PostgreSQL + Redis)", 1.2)):
        c1 = data.get("c1", {}).get("cases", {}).get("OpenAI chat", {}).get(name)
        if c1:
            rows.append(
                [
                    f"added latency at concurrency 1, p50 < {limit} ms ({name})",
                    f"{c1['added_p50_ms']:.2f} ms (OpenAI chat)",
                    "met" if c1["added_p50_ms"] < limit else "not met",
                ]
            )
    cmp = data.get("c1", {}).get("compare", {}).get("OpenAI Responses (Responses upstream)", {})
    mine = cmp.get("ways", {}).get(default)
    if mine:
        rows.append(
            [
                "Responses at concurrency 1: added p50 within 0.2 ms of chat completions'",
                f"{mine['added_p50_ms']:.2f} vs {mine['against_added_p50_ms']:.2f} ms: "
                f"{mine['difference_ms']:+.2f} ms (rounds {mine['difference_min_ms']:+.2f} to "
                f"{mine['difference_max_ms']:+.2f})"
                + (
                    f"; the gateway's CPU {mine['cpu_difference_ms']:+.3f} ms a request"
                    if "cpu_difference_ms" in mine
                    else ""
                ),
                # met outright only when every round agrees; a median inside a wide spread of rounds
                # (a shared machine) is decided by the gateway's CPU per request
                "met"
                if mine["difference_max_ms"] <= 0.2
                else "met on CPU; latency not resolved to 0.2 ms (rounds' spread)"
                if mine["difference_ms"] <= 0.2 and mine.get("cpu_difference_ms", 1.0) <= 0.2
                else "not met",
            ]
        )
    sweep = data.get("sweep", {}).get("ways", {})
    at_64 = {
        name: next((p["throughput"] for p in points if p["concurrency"] == 64), None) for name, points in sweep.items()
    }
    litellm = next((v for n, v in at_64.items() if n.startswith("LiteLLM")), None)
    for name in (default, "Lumyx (PostgreSQL + Redis)"):
        if litellm and at_64.get(name):
            ratio = at_64[name] / litellm
            rows.append(
                [
                    f"at least 10x LiteLLM's throughput at concurrency 64, every feature on ({name})",
                    f"{at_64[name]:,.0f} vs {litellm:,.0f} requests/s: {ratio:.1f}x",
                    "met" if ratio >= 10 else "not met",
                ]
            )
    for name in (default, "Lumyx (PostgreSQL + Redis)"):
        point = next((p for p in sweep.get(name, []) if p["concurrency"] == 64), None)
        if point and point["p50_ms"]:
            ratio = point["p99_ms"] / point["p50_ms"]
            rows.append(
                [
                    f"p99 at concurrency 64 under 4x p50 ({name})",
                    f"p50 {point['p50_ms']:.1f} ms, p99 {point['p99_ms']:.1f} ms: {ratio:.1f}x",
                    "met" if ratio < 4 else "not met",
                ]
            )
    for name in (default, "Lumyx (PostgreSQL + Redis)"):
        s64 = data.get("streams64", {}).get("ways", {}).get(name)
        if s64 and s64["added_ttft_p50_ms"] is not None:
            p50, p99 = s64["added_ttft_p50_ms"], s64["added_ttft_p99_ms"]
            rows.append(
                [
                    f"64 concurrent streams: added time to first token p50 < 5 ms, p99 < 20 ms ({name})",
                    f"p50 {p50:+.1f} ms, p99 {p99:+.1f} ms",
                    "met" if p50 < 5 and p99 < 20 else ("p50 met; p99 not met" if p50 < 5 else "not met"),
                ]
            )
    streams = data.get("streams", {}).get("ways", {}).get(default)
    if streams:
        complete = streams["completed"] == streams["streams"]
        ttft = streams["added_ttft_p50_ms"]
        rows.append(
            [
                f"{streams['streams']:,} streams on the default `make run`: every one complete, added TTFT p50 < 5 ms",
                f"{streams['completed']:,}/{streams['streams']:,} complete, added TTFT p50 {ttft:.1f} ms",
                "met"
                if complete and ttft is not None and ttft < 5
                else ("complete; TTFT not met" if complete else "not met"),
            ]
        )
    soak = data.get("soak")
    if soak and len(soak["points"]) > 2:
        pts = soak["points"]
        settled = next((p for p in pts if p["minute"] >= 5), pts[1])
        growth = pts[-1]["rss_mb"] - settled["rss_mb"]
        rows.append(
            [
                "flat memory over the soak",
                f"{growth:+.1f} MB from minute {settled['minute']:.0f} to "
                f"{pts[-1]['minute']:.0f} ({pts[-1]['rss_mb']:.0f} MB at the end)",
                "met" if abs(growth) <= 0.05 * settled["rss_mb"] else "not met",
            ]
        )
        worker = pts[-1].get("worker_rss_mb")
        if worker is not None:
            rows.append(
                [
                    "at most 100 MB resident per worker after the soak",
                    f"{worker:.0f} MB (the larger worker, minute {pts[-1]['minute']:.0f})",
                    "met" if worker <= 100 else "not met",
                ]
            )
    return table(["target", "measured", ""], rows)
