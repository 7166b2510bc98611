"""When a run refreshes PostgreSQL's statistics of a roster table (sync/writes.py `stale`):
the table shared by every organization is sampled again only where the planner's picture
of it, or of the run's organization in it, has gone wrong."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rollbook.sync.writes import rows_of, stale

ORG = 7


def _table(
    rows: float,
    *,
    changed: int = 0,
    committed: int = 0,
    common: list[int] | None = None,
    freqs: list[float] | None = None,
    n_distinct: float | None = 3.0,
) -> Any:
    return SimpleNamespace(
        name="people",
        rows=rows,
        changed=changed,
        committed=committed,
        null_frac=0.0,
        n_distinct=n_distinct,
        common=common,
        freqs=freqs,
    )


def test_the_estimate_of_an_organization_is_the_planners() -> None:
    district = _table(1_000_000, common=[ORG, 8], freqs=[0.9, 0.05], n_distinct=12)
    assert rows_of(ORG, district) == pytest.approx(900_000)
    # Not among the most common: the rest shared among the other 10 organizations, never
    # more than the least common of the most common.
    assert rows_of(99, district) == pytest.approx(5_000)
    assert rows_of(99, _table(1000, common=[8], freqs=[0.001], n_distinct=2)) == pytest.approx(1)
    # n_distinct below zero is a fraction of the rows.
    assert rows_of(ORG, _table(10_000, n_distinct=-0.5)) == pytest.approx(2)
    assert rows_of(ORG, _table(-1, n_distinct=None)) == 0
    assert rows_of(ORG, _table(5000, n_distinct=None)) == 0  # empty when sampled


def test_a_table_never_sampled_is_sampled() -> None:
    assert stale(_table(-1, n_distinct=None), ORG, None)


def test_a_few_changes_to_a_large_table_leave_it() -> None:
    district = _table(1_000_000, changed=40, common=[8], freqs=[0.99], n_distinct=2)
    assert not stale(district, ORG, None)


def test_a_table_changed_by_more_than_a_tenth_is_sampled() -> None:
    # Autovacuum's rule: 50 + 10% of the rows, counting what other transactions changed.
    assert stale(_table(1000, changed=10, committed=141, common=[ORG], freqs=[1.0]), ORG, None)
    assert not stale(_table(1000, changed=10, committed=140, common=[ORG], freqs=[1.0]), ORG, None)


def test_a_run_that_more_than_doubles_its_organization_samples_the_table() -> None:
    # A first run of 200 students next to a district: the statistics expect none of them.
    district = _table(1_000_000, changed=201, common=[8], freqs=[1.0], n_distinct=1)
    assert stale(district, ORG, None)
    # A run that changes fewer rows than the organization has leaves it.
    known = _table(1_000_000, changed=5000, common=[8, ORG], freqs=[0.99, 0.01], n_distinct=2)
    assert not stale(known, ORG, None)


def test_once_sampled_in_the_transaction_only_its_later_changes_count() -> None:
    table = _table(1000, changed=1200, committed=5000, common=[ORG], freqs=[1.0])
    assert not stale(table, ORG, changed_at=1100)  # 100 since: neither rule
    assert stale(table, ORG, changed_at=1000)  # 200 since: more than 50 + 10%
