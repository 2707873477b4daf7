"""`make bench`: Lumyx against the physical limit and against LiteLLM's proxy, on one machine.

Every scenario runs each way in turn, alternating within the scenario so that whatever
else the machine does falls on all of them alike:

* upstream direct: the stand-in (bench/upstream.py) hit without a gateway;
* Lumyx (SQLite): `make run`'s defaults, every feature on (bench/lumyx_server.py);
* Lumyx (PostgreSQL + Redis), when both answer on this host (5432, 6379);
* LiteLLM's proxy (bench/litellm_proxy.py), when `make bench-litellm` installed it;
* Portkey's open-source gateway (bench/portkey_gateway.py), when `make bench-portkey` installed it;
* nginx's proxy_pass (bench/nginx_proxy.py), a proxy's floor, when `make nginx` installed it.

"Added" numbers are a way's figure minus the direct figure of the same round.

    .venv/bin/python bench/run.py [--quick] [--only c1,sweep,rates,streams,soak]
                                  [--soak-minutes 30] [--no-litellm] [--no-portkey] [--no-nginx]
                                  [--no-postgres]
                                  [--baseline ../lumyx-at-an-earlier-commit]

Results go to bench/RESULTS.md (tables, versions, machine, commands) and bench/results/
(plots and the raw numbers as JSON). --quick is a smoke run of every scenario in a few
minutes; its numbers are not the ones to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import report  # noqa: E402
from scenarios import (  # noqa: E402
    scenario_c1,
    scenario_rates,
    scenario_soak,
    scenario_streams,
    scenario_streams64,
    scenario_sweep,
)
from ways import OUT, Upstream, Way, cpu_seconds, start_ways  # noqa: E402

RESULTS = BENCH / "results"


SCENARIOS = ("c1", "sweep", "rates", "streams", "streams64", "soak")


def _run_note(data: dict, scenarios: list[str]) -> dict:
    note = {
        "started": data["started"],
        "command": data["command"],
        "minutes": round(data["minutes"], 1),
        "commit": data.get("commit"),
        "scenarios": [k for k in SCENARIOS if k in scenarios],
    }
    if data.get("machine"):
        note["machine"] = data["machine"]
    return note


class MachineShare:
    """How much of the machine's CPU went to processes outside the benchmark while it ran
    (the runner and its children: the generator, the stand-in, the gateways), so that a run
    taken beside other work says so. PostgreSQL and Redis, which the benchmark uses but did
    not start, count as outside."""

    def __init__(self):
        self.t0, self.busy0, self.own0 = time.monotonic(), self._busy(), self._own()
        self.load_max = os.getloadavg()[0]

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    @staticmethod
    def _own() -> float:
        me = psutil.Process()
        return cpu_seconds([me.pid] + [c.pid for c in me.children(recursive=True)])

    def sample(self) -> None:
        self.load_max = max(self.load_max, os.getloadavg()[0])

    def result(self) -> dict:
        """Others' CPU in cores on average, and the highest 1-minute load average seen."""
        wall = max(time.monotonic() - self.t0, 1e-9)
        others = max(self._busy() - self.busy0 - (self._own() - self.own0), 0.0) / wall
        self.sample()
        return {"cores": os.cpu_count(), "others_cores": round(others, 2), "load_max": round(self.load_max, 2)}


def _commit() -> str:
    """The checked-out commit, marked when the tree has changes beside it."""
    head = subprocess.run(
        ["git", "-C", str(BENCH), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(BENCH), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    ).stdout.strip()
    return head + (" with local changes" if dirty else "") if head else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of every scenario")
    parser.add_argument(
        "--only", default=",".join(SCENARIOS), help="scenarios to run; the others keep their numbers from the last run"
    )
    parser.add_argument("--soak-minutes", type=float, default=30.0)
    parser.add_argument("--no-litellm", action="store_true")
    parser.add_argument("--no-portkey", action="store_true")
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (an earlier commit, with its own .venv) served beside this one, "
        "alternating in every scenario, to tell a change from the machine's noise",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="where the report goes; anywhere else than bench/RESULTS.md, its JSON and plots go to "
        "a folder beside it (PATH.files) and the run of record's files stay as they are",
    )
    args = parser.parse_args()
    if args.quick and args.soak_minutes == 30.0:
        args.soak_minutes = 1.0
    only = args.only.split(",")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    RESULTS.mkdir(exist_ok=True)
    started = time.time()
    upstream = Upstream(OUT)
    ways: list[Way] = []
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    command = " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]])
    commit = _commit()
    data: dict = {"started": started_at, "command": command, "quick": args.quick, "commit": commit}
    share = None
    try:
        ways = [upstream.way()] if only == ["soak"] else start_ways(args, upstream)  # the soak starts its own
        data["ways"] = [{"name": w.name, "note": w.note} for w in ways]
        share = MachineShare()
        for name, fn in (
            ("c1", scenario_c1),
            ("sweep", scenario_sweep),
            ("rates", scenario_rates),
            ("streams", scenario_streams),
            ("streams64", scenario_streams64),
        ):
            if name in only:
                data[name] = fn(ways, upstream, args.quick)
                share.sample()
        if "soak" in only:
            data["soak"] = scenario_soak(upstream, args.quick, args.soak_minutes)
        data["machine"] = share.result()
    finally:
        for way in ways[1:]:
            way.stop()
        upstream.stop()
    data["minutes"] = minutes = (time.time() - started) / 60
    machine = data.get("machine")
    saved = RESULTS / "results.json"
    out = RESULTS if args.results.resolve() == (BENCH / "RESULTS.md").resolve() else Path(f"{args.results}.files")
    out.mkdir(parents=True, exist_ok=True)
    if set(only) != set(SCENARIOS) and saved.exists():
        # A partial run replaces its own scenarios in the last full run's results.
        previous = json.loads(saved.read_text())
        runs = previous.get("runs", [_run_note(previous, list(previous))])
        known = {w["name"] for w in previous.get("ways", [])}
        ways_seen = previous.get("ways", []) + [w for w in data.get("ways", []) if w["name"] not in known]
        data = {**previous, **{k: v for k, v in data.items() if k in only}, "ways": ways_seen}
        data["runs"] = runs + [
            _run_note(
                {
                    "started": started_at,
                    "command": command,
                    "minutes": minutes,
                    "commit": commit,
                    "machine": machine,
                },
                only,
            )
        ]
    else:
        data["runs"] = [_run_note(data, only)]
    (out / "results.json").write_text(json.dumps(data, indent=1))
    report.write(data, args.results, out)
    print(f"wrote {args.results}", flush=True)


if __name__ == "__main__":
    main()
