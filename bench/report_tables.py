"""The sections of bench/RESULTS.md, one per scenario (its tables, its plots into bench/results/),
and the number, table and plot helpers the page is written with."""

from __future__ import annotations

from pathlib import Path


def num(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def plot(
    path: Path, title: str, xlabel: str, ylabel: str, series: dict, logx: bool = False, logy: bool = False
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log", base=2)
    if logy:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def c1(c1: dict, results_dir: Path) -> list[str]:
    """Added latency at concurrency 1, per request and way, and the requests set side by side."""
    md: list[str] = []
    md += [
        "## Added latency at concurrency 1",
        "",
        f"One keep-alive connection, requests back to back; {c1['rounds']} interleaved rounds of "
        f"{c1['requests_per_round']} requests per way. The median over rounds of each round's "
        "median, minus the direct median of the same round. Streams: to the last byte, and the "
        "added time to the first token.",
        "",
    ]
    names = list(dict.fromkeys(name for by_way in c1["cases"].values() for name in by_way))
    rows = []
    for label, by_way in c1["cases"].items():
        for name in names:
            row = by_way.get(name)
            if row is None:
                continue
            if "not_served" in row:
                rows.append([label, name, "not served: " + row["not_served"][:80].replace("|", "/"), "", "", "", ""])
                continue
            rows.append(
                [
                    label,
                    name,
                    num(row["p50_ms"], 3),
                    num(row["p99_ms"], 3),
                    num(row["added_p50_ms"], 3) if not name.startswith("upstream") else "",
                    num(row.get("added_ttft_p50_ms"), 3)
                    if "added_ttft_p50_ms" in row and not name.startswith("upstream")
                    else "",
                    num(row.get("cpu_ms_per_request"), 3),
                ]
            )
    md += table(["request", "way", "p50 ms", "p99 ms", "added p50 ms", "added TTFT p50 ms", "CPU ms/req"], rows) + [""]
    md += [
        "The direct way answers each request in the client's format, except the translated ones: "
        "there it is the upstream answering in its own format (Anthropic Messages; Chat Completions "
        "for the Responses client on a chat upstream), so their added time includes the translation. "
        "Responses requests are sent with `store: false` (what Codex sends: a stored response is a "
        "database write it never asks for) except the stored case, which keeps each response "
        "(the Agents SDK's default). CPU is the way's own processes per request (the gateway's master and "
        "workers; the stand-in for the direct way), the median over rounds: it grows far less than latency when other work takes the "
        "cores (psutil reads it in 10 ms ticks: about 0.03 ms a request over a round of 300).",
        "",
    ]
    if c1.get("compare"):
        md += [
            "### OpenAI Responses beside Chat Completions",
            "",
            "Each round runs every case on every way in turn; the difference is taken round by round "
            "(added p50 of the first request minus that of the second, same round) and its median "
            "given with the rounds' range; the same for the gateway's CPU per request.",
            "",
        ]
        rows = []
        for label, cmp in c1["compare"].items():
            for name, d in cmp["ways"].items():
                rows.append(
                    [
                        label,
                        cmp["against"],
                        name,
                        num(d["added_p50_ms"], 3),
                        num(d["against_added_p50_ms"], 3),
                        f"{d['difference_ms']:+.3f}",
                        f"{d['difference_min_ms']:+.3f} to {d['difference_max_ms']:+.3f}",
                        num(d.get("cpu_ms_per_request"), 3),
                        num(d.get("against_cpu_ms_per_request"), 3),
                        f"{d['cpu_difference_ms']:+.3f}" if "cpu_difference_ms" in d else "",
                    ]
                )
        md += table(
            [
                "request",
                "against",
                "way",
                "added p50 ms",
                "against: added p50 ms",
                "difference ms",
                "rounds",
                "CPU ms/req",
                "against: CPU ms/req",
                "CPU difference ms",
            ],
            rows,
        ) + [""]
    return md


def sweep(sweep: dict, results_dir: Path) -> list[str]:
    """The concurrency sweep: every level per way, the peaks, and two plots."""
    md: list[str] = []
    md += [
        "## Concurrency sweep, instant upstream",
        "",
        f"Closed loop, {sweep['duration_s']} s per level after 1 s of warm-up, OpenAI chat, "
        "non-streamed. CPU is the way's own processes per request (upstream, generator excluded).",
        "",
    ]
    rows = []
    for name, points in sweep["ways"].items():
        for p in points:
            rows.append(
                [
                    name,
                    str(p["concurrency"]),
                    num(p["throughput"], 0),
                    num(p["p50_ms"]),
                    num(p["p99_ms"]),
                    "" if name.startswith("upstream") else num(p["added_p50_ms"]),
                    "" if name.startswith("upstream") else num(p["added_p99_ms"]),
                    num(p["cpu_ms_per_request"]),
                    str(p["errors"]),
                ]
            )
    md += table(
        ["way", "concurrency", "req/s", "p50 ms", "p99 ms", "added p50", "added p99", "CPU ms/req", "errors"], rows
    ) + [""]
    peaks = {name: max(p["throughput"] for p in points) for name, points in sweep["ways"].items()}
    md += table(["way", "peak req/s"], [[n, num(v, 0)] for n, v in peaks.items()]) + [""]
    litellm = next((v for n, v in peaks.items() if n.startswith("LiteLLM")), None)
    if litellm:
        md += [
            "Peak throughput against LiteLLM's: "
            + ", ".join(
                f"{n} {v / litellm:.1f}x" for n, v in peaks.items() if not n.startswith(("LiteLLM", "upstream"))
            )
            + ".",
            "",
        ]
    plot(
        results_dir / "sweep-throughput.png",
        "Throughput, instant upstream",
        "concurrency",
        "requests/s",
        {n: ([p["concurrency"] for p in ps], [p["throughput"] for p in ps]) for n, ps in sweep["ways"].items()},
        logx=True,
    )
    plot(
        results_dir / "sweep-added-p50.png",
        "Added latency p50",
        "concurrency",
        "ms",
        {
            n: ([p["concurrency"] for p in ps], [max(p["added_p50_ms"] or 0, 0.01) for p in ps])
            for n, ps in sweep["ways"].items()
            if not n.startswith("upstream")
        },
        logx=True,
        logy=True,
    )
    md += ["![throughput](results/sweep-throughput.png)", "", "![added p50](results/sweep-added-p50.png)", ""]
    return md


def rates(rates: dict, results_dir: Path) -> list[str]:
    """Fixed rates: the highest each way holds, every rate tried, and a plot."""
    md: list[str] = []
    md += [
        "## Fixed rates, 60 ms upstream",
        "",
        f"Open loop, evenly spaced arrivals, {rates['duration_s']} s per rate after 1 s of warm-up; latency "
        "counts from each request's scheduled start. A rate holds when nothing failed, the generator "
        "kept its schedule, and the added p99 stayed under 10 ms; a way stops after two misses.",
        "",
    ]
    md += table(
        ["way", "highest rate holding added p99 < 10 ms"],
        [[n, f"{v}/s" if v else "none tried held"] for n, v in rates["best"].items() if not n.startswith("upstream")],
    ) + [""]
    rows = []
    for name, points in rates["ways"].items():
        for p in points:
            rows.append(
                [
                    name,
                    str(p["rate"]),
                    num(p["throughput"], 0),
                    num(p["p50_ms"], 1),
                    num(p["p99_ms"], 1),
                    "" if name.startswith("upstream") else num(p["added_p99_ms"], 1),
                    str(p["errors"]),
                    str(p["lagged"]),
                    "yes" if p["holds"] else "no",
                ]
            )
    md += table(
        ["way", "rate/s", "done/s", "p50 ms", "p99 ms", "added p99 ms", "errors", "late starts", "holds"], rows
    ) + [""]
    plot(
        results_dir / "rates-added-p99.png",
        "Added p99 at fixed rates (60 ms upstream)",
        "requests/s",
        "ms",
        {
            n: ([p["rate"] for p in ps], [max(p["added_p99_ms"] or 0, 0.01) for p in ps])
            for n, ps in rates["ways"].items()
            if not n.startswith("upstream")
        },
        logy=True,
    )
    md += ["![added p99 at fixed rates](results/rates-added-p99.png)", ""]
    return md


def streams64(st: dict, results_dir: Path) -> list[str]:
    """64 streaming clients: time to first token per way."""
    md: list[str] = []
    md += [
        f"## {st['clients']} concurrent streams",
        "",
        f"{st['clients']} clients in a closed loop of streamed OpenAI chat completions, each stream "
        f"{st['chunks']} chunks {st['chunk_delay_ms']} ms apart; {st['rounds']} rounds, the ways alternating. "
        "The median over rounds of each round's time to first token, and of its difference from the "
        "direct one of the same round.",
        "",
    ]
    rows = [
        [
            name,
            f"{r['streams']:,}",
            str(r["errors"]),
            num(r["ttft_p50_ms"], 1),
            num(r["ttft_p99_ms"], 1),
            "" if name.startswith("upstream") else num(r["added_ttft_p50_ms"], 1),
            "" if name.startswith("upstream") else num(r["added_ttft_p99_ms"], 1),
        ]
        for name, r in st["ways"].items()
    ]
    md += table(["way", "streams", "errors", "TTFT p50 ms", "TTFT p99 ms", "added p50 ms", "added p99 ms"], rows) + [""]
    return md


def streams(st: dict, results_dir: Path) -> list[str]:
    """Many concurrent streams: completion, time to first token, gaps and CPU per way."""
    md: list[str] = []
    md += [
        f"## {st['streams']:,} concurrent streams",
        "",
        f"{st['streams']:,} OpenAI-format streams opened over 5 s, each {st['chunks']} chunks "
        f"{st['chunk_delay_ms']} ms apart (about {st['chunks'] * st['chunk_delay_ms'] / 1000:.0f} s a stream), "
        "each on its own connection. CPU is the way's own processes, per stream.",
        "",
    ]
    rows = []
    for name, r in st["ways"].items():
        rows.append(
            [
                name,
                f"{r['completed']}/{r['streams']}",
                str(r["with_every_chunk"]),
                num(r["ttft_p50_ms"]),
                num(r["ttft_p99_ms"]),
                "" if name.startswith("upstream") else num(r["added_ttft_p50_ms"]),
                num(r["gap_p50_ms"], 1),
                num(r["gap_p99_ms"], 1),
                num(r["cpu_ms_per_stream"], 1),
            ]
        )
    md += table(
        [
            "way",
            "complete",
            "every chunk",
            "TTFT p50 ms",
            "TTFT p99 ms",
            "added TTFT p50",
            "gap p50 ms",
            "gap p99 ms",
            "CPU ms/stream",
        ],
        rows,
    ) + [""]
    for name, r in st["ways"].items():
        if r["errors"]:
            md.append(f"- {name} errors: " + "; ".join(f"{c} × {e}" for e, c in r["errors"].items()))
    md.append("")
    return md


def soak(soak: dict, results_dir: Path) -> list[str]:
    """The soak: resident memory at its start, after warm-up, at its end, and a plot."""
    md: list[str] = []
    pts = soak["points"]
    md += [
        "## Soak",
        "",
        f"{soak['way']}, started for the soak, under a steady mixed load of {soak['rate_per_s']} requests/s (OpenAI and Anthropic, "
        f"plain and streamed, one translated) against a 20 ms upstream, for {pts[-1]['minute']:.0f} minutes: "
        f"{soak['requests']:,} requests, {soak['errors']} errors. Resident memory of the server's processes "
        "(master and workers):",
        "",
    ]
    first = next((p for p in pts if p["minute"] >= 1), pts[0])
    md += table(
        ["", "minute", "RSS MB"],
        [
            ["start", num(pts[0]["minute"], 1), num(pts[0]["rss_mb"], 1)],
            ["after warm-up", num(first["minute"], 1), num(first["rss_mb"], 1)],
            ["end", num(pts[-1]["minute"], 1), num(pts[-1]["rss_mb"], 1)],
            ["max", "", num(max(p["rss_mb"] for p in pts), 1)],
        ],
    ) + [""]
    plot(
        results_dir / "soak-rss.png",
        f"Resident memory, {soak['way']}",
        "minutes",
        "MB",
        {"RSS": ([p["minute"] for p in pts], [p["rss_mb"] for p in pts])},
    )
    md += ["![soak memory](results/soak-rss.png)", ""]
    return md


# The scenarios' sections in the order the page gives them.
SECTIONS = {"c1": c1, "sweep": sweep, "rates": rates, "streams64": streams64, "streams": streams, "soak": soak}
