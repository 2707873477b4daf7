"""A table of fixed-size slots in a memory-mapped file that every worker on this
host shares: the store of the rate-limit counters (lumyx.limits.storage.HostCounters)
and of the routing state (lumyx.routing.host_store) on a SQLite deployment, one
host by nature, where a read or a change costs one ``flock`` and a few bytes.

Each slot starts with the 64-bit hash of its key (0: never used) and holds, at
``expiry_field``, the time it ends; it is found by linear probing from the hash.
A slot past its end is free; when every slot a key may use is live, the one
that ends first gives way. The file is opened anew in a forked child: a
``flock`` held through a descriptor inherited across fork would not keep the
parent and the child apart.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager


class SlotFile:
    PROBES = 32

    def __init__(self, path: str, slot: struct.Struct, slots: int, expiry_field: int) -> None:
        self.path, self.slot, self.slots, self.expiry_field = path, slot, slots, expiry_field
        self._open()

    def _open(self) -> None:
        self._pid = os.getpid()
        size = self.slots * self.slot.size
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if os.fstat(self._fd).st_size < size:
                    os.ftruncate(self._fd, size)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.map = mmap.mmap(self._fd, size)

    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[None]:
        """Holds the file's lock: shared to read, exclusive to change."""
        if self._pid != os.getpid():  # forked: the parent's descriptor is not ours to lock
            self.map.close()
            os.close(self._fd)
            self._open()
        fcntl.flock(self._fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @staticmethod
    def hash(key: str) -> int:
        return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1

    def find(self, wanted: int, now: float, claim: bool) -> tuple[int, tuple | None]:
        """Under the lock: (offset, fields) of the live slot of the key hashed
        ``wanted``; else, with ``claim``, (a slot it may take, None); else (-1, None)."""
        size, unpack, ends = self.slot.size, self.slot.unpack_from, self.expiry_field
        start = wanted % self.slots
        free = oldest = None
        for probe in range(self.PROBES):
            offset = ((start + probe) % self.slots) * size
            fields = unpack(self.map, offset)
            found, ends_at = fields[0], fields[ends]
            if found == wanted and ends_at > now:
                return offset, fields
            if found == 0 or ends_at <= now:
                free = offset if free is None else free
                if found == 0:
                    break
            elif oldest is None or ends_at < oldest[1]:
                oldest = (offset, ends_at)
        if not claim:
            return -1, None
        return (free if free is not None else oldest[0]), None

    def write(self, offset: int, *fields) -> None:
        """Under the exclusive lock. A slot is ended (its end in the past), never
        emptied: an empty slot would end the probing of the keys after it."""
        self.slot.pack_into(self.map, offset, *fields)

    def wipe(self) -> None:
        with self.locked(exclusive=True):
            self.map[:] = bytes(len(self.map))
