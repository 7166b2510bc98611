"""One existing entity against what the SIS sends: field by field through domain/merge.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rollbook.domain.fields import EntityKind, fields_of
from rollbook.domain.merge import FieldOutcome, is_blank, locked_field, shared_field
from rollbook.sync.incoming import Incoming


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    overwritten: bool


@dataclass(frozen=True, slots=True)
class SettingChange:
    """`set` writes a value from the SIS, `clear` drops one that had come from it, `flag` only
    records whether the SIS sends it (and that its source is now the SIS, when claimed)."""

    op: str
    product: str
    setting: str
    old: Any
    new: Any
    source: str | None
    sis_sends: bool
    overwritten: bool


@dataclass
class Reconciled:
    """What the sync does to one existing entity."""

    writes: dict[str, Any] = field(default_factory=dict)
    changes: list[FieldChange] = field(default_factory=list)
    claimed: list[str] = field(default_factory=list)
    manual_mask: int = 0
    sis_mask: int = 0
    settings: list[SettingChange] = field(default_factory=list)

    @property
    def overwritten(self) -> int:
        return sum(c.overwritten for c in self.changes) + sum(s.overwritten for s in self.settings)

    @property
    def settings_changed(self) -> int:
        return sum(s.op in ("set", "clear") for s in self.settings)

    @property
    def touched(self) -> bool:
        return bool(self.changes or self.claimed or self.settings)


def _source(bit: int, manual_mask: int, value: Any) -> str | None:
    if bit & manual_mask:
        return "manual"
    return None if is_blank(value) else "sis"


def reconcile(
    kind: EntityKind,
    *,
    current: Mapping[str, Any],
    manual_mask: int,
    incoming: Incoming,
    settings: Mapping[tuple[str, str], tuple[Any, str, bool]] | None = None,
) -> Reconciled:
    """R7, R11, R12, R16 for one entity; a `tobedeleted` record only deactivates (R19)."""
    out = Reconciled(manual_mask=manual_mask)
    for spec in fields_of(kind):
        if not spec.sis_may_send:
            continue
        if incoming.tobedeleted and spec.name != "status":
            continue
        old = current.get(spec.name)
        sent = incoming.values.get(spec.name)
        outcome: FieldOutcome
        if spec.is_locked:
            outcome = locked_field(sent=sent, current=old)
        else:
            source = _source(spec.mask, manual_mask, old)
            outcome = shared_field(sent=sent, current=old, current_source=source)  # type: ignore[arg-type]
        if outcome.source == "manual":
            out.manual_mask |= spec.mask
        else:
            out.manual_mask &= ~spec.mask
        if outcome.sis_sends:
            out.sis_mask |= spec.mask
        if outcome.writes:
            out.writes[spec.name] = outcome.value
            out.changes.append(
                FieldChange(spec.name, old, outcome.value, outcome.manual_edit_overwritten)
            )
        elif outcome.action == "claim":
            out.claimed.append(spec.name)
    if incoming.tobedeleted:
        out.sis_mask = 0
    elif settings is not None:
        out.settings = reconcile_settings(settings, incoming.settings)
    return out


def reconcile_settings(
    current: Mapping[tuple[str, str], tuple[Any, str, bool]],
    sent: Mapping[tuple[str, str], Any],
) -> list[SettingChange]:
    """R16 with R11/R12: every setting the SIS sends or had sent, for one student."""
    changes = []
    for key in sorted(set(current) | set(sent)):
        value, source, flagged = current.get(key, (None, None, False))
        outcome = shared_field(sent=sent.get(key), current=value, current_source=source)  # type: ignore[arg-type]
        product, setting = key
        if outcome.writes:
            op = "set" if outcome.action == "set" else "clear"
        elif outcome.action == "claim" or outcome.sis_sends != flagged:
            op = "flag"
        else:
            continue
        changes.append(
            SettingChange(
                op,
                product,
                setting,
                value,
                outcome.value,
                outcome.source,
                outcome.sis_sends,
                outcome.manual_edit_overwritten,
            )
        )
    return changes
