"""Waiting for a server the benchmark started (a peer gateway, a proxy) to answer."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable


def wait_until_ready(
    url: str, process: subprocess.Popen, name: str, see: str, timeout: float, stop: Callable[[], None]
) -> None:
    """Returns once ``url`` answers 200; raises (after ``stop``) when ``process`` exits
    first or ``timeout`` seconds pass. ``see``: where its log is, for the error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {see}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    stop()
    raise TimeoutError(f"{name} not ready after {timeout:.0f} s; see {see}")
