"""A hypothesis state machine: random put/delete/batch/snapshot/iterate/reopen on kevo
against a dict model."""

from __future__ import annotations

import shutil
import tempfile
from typing import Dict, List, Optional, Tuple

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kevo

keys = st.sampled_from(
    [b"a", b"b", b"c", b"d", b"aa", b"ab", b"ba", b"bb", b"abc", b"\x00", b"\xff", b"zz"]
)
values = st.binary(max_size=8)


class KevoModel(RuleBasedStateMachine):
    """kevo.DB must behave exactly like a dict of bytes, sorted by key."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="kevo-hypothesis-")
        # A small memtable so that flushes and compactions happen within a run.
        self.db = kevo.open(self.dir, memtable_size=4096, l0_compaction_trigger=2)
        self.model: Dict[bytes, bytes] = {}
        self.snapshots: List[Tuple[kevo.Snapshot, Dict[bytes, bytes]]] = []

    @rule(k=keys, v=values)
    def put(self, k: bytes, v: bytes) -> None:
        self.db[k] = v
        self.model[k] = v

    @rule(k=keys)
    def delete(self, k: bytes) -> None:
        if k in self.model:
            del self.db[k]
            del self.model[k]
        else:
            try:
                del self.db[k]
                raise AssertionError("del of an absent key must raise KeyError")
            except KeyError:
                pass

    @rule(ops=st.lists(st.tuples(keys, st.one_of(st.none(), values)), max_size=10), fail=st.booleans())
    def batch(self, ops: List[Tuple[bytes, Optional[bytes]]], fail: bool) -> None:
        try:
            with self.db.write_batch() as b:
                for k, v in ops:
                    if v is None:
                        b.delete(k)
                    else:
                        b[k] = v
                if fail:
                    raise ValueError("discard")
        except ValueError:
            return
        for k, v in ops:
            if v is None:
                self.model.pop(k, None)
            else:
                self.model[k] = v

    @rule(k=keys)
    def get(self, k: bytes) -> None:
        assert self.db.get(k) == self.model.get(k)
        assert (k in self.db) == (k in self.model)

    @precondition(lambda self: len(self.snapshots) < 3)
    @rule()
    def take_snapshot(self) -> None:
        self.snapshots.append((self.db.snapshot(), dict(self.model)))

    @precondition(lambda self: self.snapshots)
    @rule()
    def check_and_release_snapshot(self) -> None:
        snap, model = self.snapshots.pop(0)
        assert dict(snap.items()) == model
        assert list(snap) == sorted(model)
        snap.release()

    @rule(start=st.one_of(st.none(), keys), stop=st.one_of(st.none(), keys), reverse=st.booleans())
    def iterate(self, start: Optional[bytes], stop: Optional[bytes], reverse: bool) -> None:
        expected = sorted(
            (k, v)
            for k, v in self.model.items()
            if (start is None or k >= start) and (stop is None or k < stop)
        )
        if reverse:
            expected.reverse()
        assert list(self.db.items(start=start, stop=stop, reverse=reverse)) == expected

    @rule(prefix=keys)
    def prefix_scan(self, prefix: bytes) -> None:
        assert list(self.db.keys(prefix=prefix)) == sorted(k for k in self.model if k.startswith(prefix))

    @rule()
    def flush(self) -> None:
        self.db.flush()

    @rule()
    def reopen(self) -> None:
        for snap, _ in self.snapshots:
            snap.release()
        self.snapshots.clear()
        self.db.close()
        self.db = kevo.open(self.dir, memtable_size=4096, l0_compaction_trigger=2)

    @invariant()
    def same_length(self) -> None:
        assert len(self.db) == len(self.model)
        assert bool(self.db) == bool(self.model)

    def teardown(self) -> None:
        for snap, _ in self.snapshots:
            snap.release()
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)


KevoModel.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestKevoModel = KevoModel.TestCase
