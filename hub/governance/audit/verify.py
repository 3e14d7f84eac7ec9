"""`hub audit verify`: walk every chain in the database and report the first broken link of each.

A record's link holds when its hash is the hash of its own canonical text, its `prev_hash` is the
hash of the record before it, and no seq is missing in between. A chain's first retained record
(retention deletes whole prefixes) is trusted as the anchor: its `prev_hash` is where the walk
starts; a chain that still has its first record must start from GENESIS.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.governance.audit import store
from hub.governance.audit.record import GENESIS, AuditRecord
from hub.storage.engine import Database


@dataclass(frozen=True, slots=True)
class BrokenLink:
    record_id: str
    seq: int
    what: str  # "hash", "prev_hash" or "seq"
    expected: str
    found: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    chain: str
    records: int
    first_seq: int
    last_seq: int
    broken: BrokenLink | None

    def describe(self) -> str:
        span = f"{self.records} records (seq {self.first_seq}..{self.last_seq})"
        if self.broken is None:
            return f"chain {self.chain}: {span}: ok"
        b = self.broken
        return (
            f"chain {self.chain}: {span}: BROKEN at record {b.record_id} (seq {b.seq}): "
            f"{b.what} expected {b.expected}, found {b.found}"
        )


async def verify_chains(database: Database) -> list[ChainReport]:
    return [await verify_chain(database, chain) for chain in await store.chains(database)]


async def verify_chain(database: Database, chain: str) -> ChainReport:
    previous: AuditRecord | None = None
    first_seq = count = 0
    async for record in store.along_chain(database, chain):
        if previous is None:
            first_seq = record.seq
        broken = _check(previous, record)
        if broken is not None:
            return ChainReport(chain, count, first_seq, previous.seq if previous else record.seq, broken)
        previous = record
        count += 1
    return ChainReport(chain, count, first_seq, previous.seq if previous else 0, None)


def _check(previous: AuditRecord | None, record: AuditRecord) -> BrokenLink | None:
    def broken(what: str, expected: object, found: object) -> BrokenLink:
        return BrokenLink(record.id, record.seq, what, str(expected), str(found))

    if previous is None and record.seq == 1 and record.prev_hash != GENESIS:
        return broken("prev_hash", GENESIS, record.prev_hash)
    if previous is not None and record.seq != previous.seq + 1:
        return broken("seq", previous.seq + 1, record.seq)
    if previous is not None and record.prev_hash != previous.hash:
        return broken("prev_hash", previous.hash, record.prev_hash)
    computed = record.computed_hash()
    if computed != record.hash:
        return broken("hash", computed, record.hash)
    return None
