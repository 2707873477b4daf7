"""Routing state in a memory-mapped file that every worker on this host shares:
the store of a SQLite deployment (one host by nature), where reading a model's
breakers costs one shared ``flock`` and a few slot reads.

A :class:`~lumyx.limits.slot_file.SlotFile` of (hash of the key, expiry, value
of up to :data:`VALUE_BYTES` bytes), as lumyx.limits.storage.HostCounters keeps
its counters.
"""

from __future__ import annotations

import struct
import time
from typing import TYPE_CHECKING

from lumyx.limits.slot_file import SlotFile

if TYPE_CHECKING:
    from lumyx.routing.store import Change

VALUE_BYTES = 110


class HostStore:
    SLOTS = 1 << 15

    def __init__(self, path: str) -> None:
        self.path = path
        self.table = SlotFile(path, struct.Struct(f"<QdH{VALUE_BYTES}s"), self.SLOTS, expiry_field=1)

    def _value(self, wanted: int, now: float, claim: bool) -> tuple[int, str | None]:
        offset, fields = self.table.find(wanted, now, claim)
        return offset, (fields[3][: fields[2]].decode() if fields else None)

    def get_many(self, keys: list[str]) -> list[str | None]:
        now = time.time()
        with self.table.locked(exclusive=False):
            return [self._value(SlotFile.hash(key), now, claim=False)[1] for key in keys]

    def _write(self, offset: int, wanted: int, value: str | None, ttl: float) -> None:
        if value is None:  # ended
            self.table.write(offset, wanted, 0.0, 0, b"")
            return
        raw = value.encode()
        if len(raw) > VALUE_BYTES:
            raise ValueError(f"routing state value over {VALUE_BYTES} bytes")
        self.table.write(offset, wanted, time.time() + ttl, len(raw), raw)

    def update(self, key: str, change: Change) -> str | None:
        wanted = SlotFile.hash(key)
        with self.table.locked(exclusive=True):
            offset, old = self._value(wanted, time.time(), claim=True)
            value, ttl = change(old)
            self._write(offset, wanted, value, ttl)
            return value

    def put(self, key: str, value: str, ttl: float) -> None:
        self.update(key, lambda _old: (value, ttl))

    def clear(self) -> None:
        self.table.wipe()
