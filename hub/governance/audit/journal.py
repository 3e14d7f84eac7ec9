"""The local audit journal: a record reaches the OS, as an appended line, before the agent sees its answer.

A write() that returned survives the process being killed (the kernel holds the data); with
`audit.fsync` each append is also flushed to the disk, which survives a power loss. The database
writer (writer.py) follows the journal and stores what it reads; what it has stored is remembered
in `committed`, so a restarted hub replays only the rest.

    journal_dir/<chain>/           one directory per chain (the chain id is its name)
        lock                       flock()ed by the one process that appends to (or drains) the chain
        00000001.jsonl, ...        segments of journal lines, in order; a new one at each start
        committed                  {"segment": n, "offset": o}: every line before it is in the database
        rejected.jsonl             lines the database refused (kept, never dropped)

A process takes every chain directory no other process holds: it appends to the most recently
used one (continuing its chain) and drains the others (left by a process that died), removing them
once the database has all they held. Blocking file IO: appends run inline on the event loop (one
small write to the page cache, cheaper than a hop to a thread), reads and commits in a thread.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.governance.audit.record import GENESIS

log = logging.getLogger(__name__)

_CHAIN_NAME = re.compile(r"^[0-9a-f]{32}$")
_SEGMENT = re.compile(r"^(\d{8})\.jsonl$")


@dataclass(frozen=True, slots=True, order=True)
class Position:
    segment: int
    offset: int


class ChainJournal:
    """One chain's directory, locked by this process."""

    def __init__(self, directory: Path, lock_fd: int, fsync: bool, segment_bytes: int) -> None:
        self.directory = directory
        self.chain = directory.name
        self._lock_fd = lock_fd
        self._fsync = fsync
        self._segment_bytes = segment_bytes
        self._fd: int | None = None
        self._segment = 0
        self._size = 0
        self.head_seq = 0
        self.head_hash = GENESIS

    @property
    def appending(self) -> bool:
        return self._fd is not None

    @property
    def end(self) -> Position:
        """Where the next appended line will start (while appending)."""
        return Position(self._segment, self._size)

    # --- opening ----------------------------------------------------------------------------------

    @classmethod
    def open_all(cls, root: Path, fsync: bool, segment_bytes: int) -> list[ChainJournal]:
        """Every chain no other process holds, locked; the first is opened for appending (made if none)."""
        root.mkdir(parents=True, exist_ok=True)
        journals = []
        for sub in sorted(root.iterdir()):
            if sub.is_dir() and _CHAIN_NAME.match(sub.name):
                lock = _try_lock(sub)
                if lock is not None:
                    journals.append(cls(sub, lock, fsync, segment_bytes))
        if not journals:
            sub = root / uuid.uuid4().hex
            sub.mkdir()
            lock = _try_lock(sub)
            assert lock is not None  # a directory made just now, with a fresh random name
            journals.append(cls(sub, lock, fsync, segment_bytes))
        journals.sort(key=lambda j: j.last_used(), reverse=True)
        journals[0].start_appending()
        return journals

    def last_used(self) -> float:
        segments = self.segments()
        return (self.directory / _name(segments[-1])).stat().st_mtime if segments else 0.0

    def start_appending(self) -> None:
        """Continue the chain from its last complete line, in a new segment."""
        segments = self.segments()
        for number in reversed(segments):
            last = _last_line(self.directory / _name(number))
            if last is not None:
                self.head_seq, self.head_hash = int(last["seq"]), str(last["hash"])
                break
        self._segment = (segments[-1] if segments else 0) + 1
        self._open_segment()

    def _open_segment(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.directory / _name(self._segment), flags, 0o600)
        self._size = 0
        if self._fsync:
            _fsync_dir(self.directory)

    # --- the hot path -----------------------------------------------------------------------------

    def append(self, line: bytes, seq: int, hash_: str) -> tuple[Position, Position]:
        """Write one line (all of it) and move the chain's head; raises OSError if the OS refuses.

        Returns where the line starts and where the next one will (the start of a new segment when
        this line finished one), the positions the writer commits.
        """
        if self._fd is None:
            raise OSError("the journal is not open for appending")
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self._fsync:
            os.fsync(self._fd)
        self.head_seq, self.head_hash = seq, hash_
        start = Position(self._segment, self._size)
        self._size += len(line)
        if self._size >= self._segment_bytes:
            os.close(self._fd)
            self._segment += 1
            self._open_segment()
        return start, Position(self._segment, self._size)

    # --- the writer's side (in a worker thread) ---------------------------------------------------

    def segments(self) -> list[int]:
        return sorted(int(m.group(1)) for p in self.directory.iterdir() if (m := _SEGMENT.match(p.name)))

    def committed(self) -> Position:
        try:
            data = json.loads((self.directory / "committed").read_text())
            return Position(int(data["segment"]), int(data["offset"]))
        except FileNotFoundError:
            segments = self.segments()
            return Position(segments[0] if segments else 0, 0)

    def read(self, position: Position, max_lines: int) -> tuple[list[bytes], Position]:
        """Up to `max_lines` complete lines from `position`, and the position after them."""
        lines: list[bytes] = []
        segment, offset = position.segment, position.offset
        while len(lines) < max_lines:
            path = self.directory / _name(segment)
            later = [n for n in self.segments() if n > segment]
            data = _read_from(path, offset)
            complete = data[: data.rfind(b"\n") + 1]
            for line in complete.splitlines(keepends=True)[: max_lines - len(lines)]:
                lines.append(line)
                offset += len(line)
            if len(lines) >= max_lines or not later:
                break
            rest = _read_from(path, offset)  # the segment is finished: whatever is left is a torn line
            if rest:
                log.warning("audit.journal_torn", extra={"chain": self.chain, "segment": segment, "bytes": len(rest)})
            segment, offset = later[0], 0
        return lines, Position(segment, offset)

    def commit(self, position: Position) -> None:
        """Remember that the database has everything before `position`; drop segments it has finished."""
        tmp = self.directory / "committed.tmp"
        with tmp.open("w") as out:
            out.write(json.dumps({"segment": position.segment, "offset": position.offset}))
            if self._fsync:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, self.directory / "committed")
        for number in self.segments():
            if number < position.segment:
                (self.directory / _name(number)).unlink(missing_ok=True)

    def drained(self, position: Position) -> bool:
        """True when nothing is left to store (for a chain this process does not append to)."""
        later = [n for n in self.segments() if n > position.segment]
        path = self.directory / _name(position.segment)
        return not later and not _read_from(path, position.offset)

    def reject(self, line: bytes) -> None:
        with (self.directory / "rejected.jsonl").open("ab") as out:
            out.write(line)

    def remove(self) -> None:
        """Delete a drained chain's directory (never the one being appended to)."""
        if not self.appending:
            shutil.rmtree(self.directory, ignore_errors=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        os.close(self._lock_fd)


def _name(segment: int) -> str:
    return f"{segment:08d}.jsonl"


def _try_lock(directory: Path) -> int | None:
    try:
        fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except FileNotFoundError:  # removed by the process that drained it
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with path.open("rb") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b""


def _last_line(path: Path) -> dict[str, Any] | None:
    data = _read_from(path, 0)
    for line in reversed(data[: data.rfind(b"\n") + 1].splitlines()):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict) and "seq" in parsed and "hash" in parsed:
            return parsed
    return None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
