"""The settlement journal: settlements that could not reach the database, kept
on disk until they can, so that no answered request goes unbilled.

When a request's settlement finds the database unreachable (a PostgreSQL
restart, a network cut), :func:`keep` appends what the settlement needs — the
usage row, the cost, what admission held or counted — as one JSON line to this
worker's journal file and flushes it to the disk (``fsync``) before the
request is done with. Every worker retries the journal every
:data:`RETRY_EVERY_SECONDS` (:func:`replay`, run by the janitor's thread) until
the database answers; a replayed settlement is the one the request would have
made (same usage row, same charge), and since a settlement is unique by request
id, replaying one twice changes nothing.

Files: ``instance/settlements/<database>/<pid>-<random>.jsonl``, one directory
per database (its dialect and name: a journal is never replayed into another
database), one file per worker. A worker holds an exclusive ``flock`` on its
file while it lives, so the others leave it alone; the file of a worker that
stopped is unlocked, and the first worker to lock it replays it and deletes it.
An entry that fails for any reason but the database's absence is moved to
``failed.log`` in the same directory and logged, never retried in a loop.

The janitor (:mod:`lumyx.billing.janitor`) replays the journal before it
releases orphaned holds and never releases a hold whose settlement is still
journaled (:func:`pending_ids`): a journaled request keeps its hold until its
settlement charges it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson

from lumyx import config
from lumyx.db import db
from lumyx.errors import DATABASE_DOWN

log = logging.getLogger("lumyx.billing")

ROOT = config.INSTANCE / "settlements"
RETRY_EVERY_SECONDS = 2
FAILED = "failed.log"


def directory() -> Path:
    """This app's database's journal directory."""
    url = db.engine.url
    name = url.database or ""
    if url.get_backend_name() == "sqlite" and name and name != ":memory:":
        name = os.path.abspath(name)
    return ROOT / hashlib.sha256(f"{url.get_backend_name()}:{name}".encode()).hexdigest()[:16]


def _encode(entry: dict) -> bytes:
    return orjson.dumps(entry) + b"\n"


def _entries(data: bytes) -> list[dict]:
    """The complete entries of a journal file's bytes (a torn last line is skipped)."""
    out = []
    for line in data.splitlines():
        try:
            entry = orjson.loads(line)
            entry["row"]["created_at"] = datetime.fromisoformat(entry["row"]["created_at"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        out.append(entry)
    return out


def _read(path: Path, limit: int | None = None) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read() if limit is None else fh.read(limit)
    except FileNotFoundError:
        return b""


class Journal:
    """This worker's journal file: made on the first settlement kept, locked for
    as long as the worker lives."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None
        self.path: Path | None = None

    def forget(self) -> None:
        """In a forked child: the parent's file is the parent's (closing this copy of
        its descriptor leaves the parent's lock in place, and ends with the parent)."""
        if self._fd is not None and self._pid != os.getpid():
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd, self._pid, self.path = None, None, None

    def _open(self, where: Path) -> int:
        if self._fd is not None and self._pid == os.getpid() and self.path is not None and self.path.parent == where:
            return self._fd
        where.mkdir(parents=True, exist_ok=True)
        path = where / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # held while this worker lives
        dir_fd = os.open(where, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new file's name survives a crash too
        finally:
            os.close(dir_fd)
        self._fd, self._pid, self.path = fd, os.getpid(), path
        return fd

    def keep(self, entry: dict) -> None:
        """Appends ``entry`` and flushes it to the disk; raises OSError when it cannot."""
        line = _encode(entry)
        with self._lock:
            fd = self._open(directory())
            os.write(fd, line)
            os.fsync(fd)

    def own(self) -> tuple[Path | None, int]:
        """(this worker's file in the current directory, its size)."""
        with self._lock:
            if self._fd is None or self._pid != os.getpid() or self.path is None or self.path.parent != directory():
                return None, 0
            return self.path, os.fstat(self._fd).st_size

    def clear_if(self, size: int) -> None:
        """Empties this worker's file if nothing was added since it was ``size`` bytes."""
        with self._lock:
            if self._fd is not None and os.fstat(self._fd).st_size == size:
                os.ftruncate(self._fd, 0)
                os.fsync(self._fd)


journal = Journal()  # this worker's


def keep(entry: dict) -> None:
    journal.keep(entry)


def _apply_all(entries: list[dict], apply: Callable[[dict], None], where: Path) -> int | None:
    """Applies each entry; how many, or None when the database is still unreachable."""
    for entry in entries:
        try:
            apply(entry)
        except DATABASE_DOWN:
            return None
        except Exception:
            log.exception("a journaled settlement (%s) failed; kept in %s", entry["row"].get("id"), where / FAILED)
            with open(where / FAILED, "ab") as fh:
                fh.write(_encode(entry))
    return len(entries)


def _adopt(path: Path, apply: Callable[[dict], None]) -> int | None:
    """Replays and deletes the file of a worker that stopped: how many entries it
    held (0 when its worker lives), None when the database is unreachable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0
        if os.fstat(fd).st_nlink == 0:  # replayed and deleted by another worker meanwhile
            return 0
        applied = _apply_all(_entries(_read(path)), apply, path.parent)
        if applied is not None:
            os.unlink(path)
        return applied
    finally:
        os.close(fd)


def replay(apply: Callable[[dict], None]) -> int | None:
    """Applies every journaled settlement of this database with ``apply`` (which
    must take one settled already in its stride): how many, or None when the
    database is still unreachable."""
    where = directory()
    own, size = journal.own()
    applied = 0
    if own is not None and size:
        applied = _apply_all(_entries(_read(own, size)), apply, where)
        if applied is None:
            return None
        journal.clear_if(size)
    for path in where.glob("*.jsonl") if where.is_dir() else ():
        if path != own:
            adopted = _adopt(path, apply)
            if adopted is None:
                return None
            applied += adopted
    return applied


def has_work() -> bool:
    """Whether a journal of this database may hold entries (cheap: no file is read)."""
    own, size = journal.own()
    where = directory()
    return bool(size) or (where.is_dir() and any(path != own for path in where.glob("*.jsonl")))


def pending_ids() -> set[str]:
    """The request ids of every settlement still journaled for this database."""
    where = directory()
    paths = list(where.glob("*.jsonl")) if where.is_dir() else []
    return {entry["row"]["id"] for path in paths for entry in _entries(_read(path))}
