"""bench/RESULTS.md from a run's numbers (bench/results/results.json), with plots."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import psutil
from report_tables import SECTIONS, num, table
from report_targets import targets

BENCH = Path(__file__).resolve().parent


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> list[str]:
    model = next(
        (line.split(":", 1)[1].strip() for line in _run("lscpu").splitlines() if line.startswith("Model name")),
        platform.processor() or "unknown",
    )
    memory = psutil.virtual_memory().total / 2**30
    return [
        f"- CPU: {model}, {os.cpu_count()} cores (everything below shares them: the load "
        f"generator, the upstream stand-in, the gateway and its database)",
        f"- Memory: {memory:.0f} GiB; kernel {platform.release()}",
        f"- Python {platform.python_version()}",
    ]


def versions() -> list[str]:
    names = (
        "Flask",
        "gunicorn",
        "gevent",
        "SQLAlchemy",
        "Flask-Limiter",
        "geventhttpclient",
        "psycopg",
        "redis",
        "aiohttp",
        "uvloop",
    )
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    postgres = _run("psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version", "test")
    redis = next(
        (
            line.split(":", 1)[1]
            for line in _run("redis-cli", "INFO", "server").splitlines()
            if line.startswith("redis_version:")
        ),
        "",
    )
    lines = ["- " + ", ".join(found)]
    if postgres:
        lines.append(f"- PostgreSQL {postgres}" + (f", Redis {redis.strip()}" if redis else ""))
    return lines


def write(data: dict, results_md: Path, results_dir: Path) -> None:
    runs = data.get("runs") or [
        {"started": data["started"], "command": data["command"], "minutes": data["minutes"], "scenarios": []}
    ]
    md = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/run.py`); how the numbers are taken: bench/README.md."
        + (" **A quick smoke run: not numbers to quote.**" if data.get("quick") else ""),
        "",
    ]

    def scenarios(i: int) -> str:
        later = {name for run in runs[i + 1 :] for name in run["scenarios"]}
        return ", ".join(
            name + (" (replaced by a later run)" if name in later else "") for name in runs[i]["scenarios"]
        )

    def machine_note(r: dict) -> str:
        m = r.get("machine")
        if not m:
            return ""
        shared = m["others_cores"] >= 0.1
        return (
            ("shared: " if shared else "alone: ")
            + f"other processes used {m['others_cores']:.2f} of {m['cores']} cores on average, "
            f"load average up to {m['load_max']:.1f}"
        )

    md += table(
        ["run started", "minutes", "scenarios", "Lumyx commit", "command", "machine"],
        [
            [
                r["started"],
                num(r["minutes"], 0),
                scenarios(i),
                r.get("commit") or "",
                f"`{r['command']}`",
                machine_note(r),
            ]
            for i, r in enumerate(runs)
        ],
    )
    if any(r.get("machine") for r in runs):
        md += [
            "",
            '"Other processes" are everything outside the benchmark\'s own (the runner, the generator, the '
            "stand-in, the gateways), PostgreSQL and Redis included; a run that shared the machine with other "
            "work reads best as its ways and requests set against each other, which alternate, not as absolutes.",
        ]
    md += ["", "## Machine and versions", "", *machine(), *versions(), "", "## The ways compared", ""]
    md += [f"- **{w['name']}**" + (f": {w['note']}" if w["note"] else "") for w in data.get("ways", [])]
    md += ["", "## Targets", "", *targets(data), ""]

    for name, section in SECTIONS.items():
        if name in data:
            md += section(data[name], results_dir)

    outside = results_dir / "outside.txt"
    if outside.exists():
        head, _, tables = outside.read_text().partition("\n")
        md += [
            "## The same ways through wrk and h2load",
            "",
            f"`bench/outside_tools.py` ({head}): wrk's own latencies (from a request's write to the "
            "response's last byte) and requests a second at one connection and at 64, each way minus the "
            "direct one of the same round, medians over rounds; h2load `--h1` for 64 streams at once, time "
            "to first byte (its mean and its max over the 64 connections: it reports no percentiles). "
            "How to run it: bench/wrk/README.md.",
            "",
            "```",
            tables.strip("\n"),
            "```",
            "",
        ]
    changes = BENCH / "changes.md"
    if changes.exists():
        md += [changes.read_text().strip(), ""]
    results_md.write_text("\n".join(md))
