"""Shared fixtures: a fresh database per test in pytest's temporary directory."""

from __future__ import annotations

import pathlib
from typing import Iterator

import pytest

import kevo


@pytest.fixture
def path(tmp_path: pathlib.Path) -> pathlib.Path:
    """A database directory that does not exist yet."""
    return tmp_path / "db"


@pytest.fixture
def db(path: pathlib.Path) -> Iterator[kevo.DB]:
    """An open, empty database, closed after the test."""
    d = kevo.open(path)
    yield d
    d.close()


@pytest.fixture
def abc_db(db: kevo.DB) -> kevo.DB:
    """A database holding a..e -> A..E."""
    for c in "abcde":
        db[c.encode()] = c.upper().encode()
    return db
