"""What a sync does to one field, one product association, one setting (R7, R11, R12, R14, R16).

These are the rules of rules.md's two tables, as pure functions. The sync asks them for
every field it does not already know to be unchanged, so the tables below are the only
place where "the SIS now sends / the value came from / the sync" is decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["sis", "manual"]
FieldAction = Literal["nothing", "set", "clear", "keep", "claim"]
ProductAction = Literal["add", "claim", "nothing", "remove", "keep"]


def is_blank(value: Any) -> bool:
    """R12: a blank cell or an absent column is "not sent"."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return len(value) == 0
    return False


def same(a: Any, b: Any) -> bool:
    """Values compare as the SIS means them: lists without order, blanks alike."""
    if is_blank(a) and is_blank(b):
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return sorted(map(str, a)) == sorted(map(str, b))
    return bool(a == b)


@dataclass(frozen=True, slots=True)
class FieldOutcome:
    """The sync's decision for one field of one entity."""

    action: FieldAction
    value: Any  # the value after the sync
    source: Source | None  # where the value after the sync came from
    sis_sends: bool  # R11: whether this run sent a non-blank value
    manual_edit_overwritten: bool = False

    @property
    def writes(self) -> bool:
        """Whether the stored value changes."""
        return self.action in ("set", "clear")


def shared_field(*, sent: Any, current: Any, current_source: Source | None) -> FieldOutcome:
    """R11/R12: one shared field (or product setting) of a `sis` entity."""
    if is_blank(sent):
        if current_source == "manual":
            return FieldOutcome("keep", current, "manual", sis_sends=False)
        if is_blank(current):
            return FieldOutcome("nothing", None, None, sis_sends=False)
        return FieldOutcome("clear", None, None, sis_sends=False)
    if current_source == "manual":
        if same(sent, current):
            return FieldOutcome("claim", current, "sis", sis_sends=True)
        return FieldOutcome("set", sent, "sis", sis_sends=True, manual_edit_overwritten=True)
    if same(sent, current):
        return FieldOutcome("nothing", current, "sis", sis_sends=True)
    return FieldOutcome("set", sent, "sis", sis_sends=True)


def locked_field(*, sent: Any, current: Any) -> FieldOutcome:
    """R11 (last row) and R7: a locked field takes the SIS value, whatever it replaced."""
    sends = not is_blank(sent)
    # A list sent empty (a class's grades, subjects, periods) clears to an empty list: those
    # columns hold a list, never null (found by tests/fuzz/test_snapshot_fuzz.py).
    value = sent if sends else ([] if isinstance(sent, (list, tuple)) else None)
    if same(sent, current):
        return FieldOutcome("nothing", current if sends else None, "sis" if sends else None, sends)
    return FieldOutcome("set" if sends else "clear", value, "sis" if sends else None, sends)


def product_link(*, sis_sends: bool, linked: bool, source: Source | None) -> ProductAction:
    """R14: one product of one `sis` class."""
    if sis_sends:
        if not linked:
            return "add"
        return "claim" if source == "manual" else "nothing"
    if not linked:
        return "nothing"
    return "remove" if source == "sis" else "keep"


def needs_approval(*, active: int, deactivating: int, threshold_percent: int) -> bool:
    """R20: D > floor(t * A), or D = A > 0, holds the run for a decision."""
    if active > 0 and deactivating == active:
        return True
    return deactivating > (threshold_percent * active) // 100
