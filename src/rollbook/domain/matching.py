"""R6, R9, R10: which existing entity an incoming SIS record is, or why the sync won't guess."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Literal, NamedTuple

from rollbook.domain.values import username_key

Key = Literal["external_id", "alt_external_id", "username"]
# The order in which keys are named in a conflict report.
KEYS: tuple[Key, ...] = ("external_id", "alt_external_id", "username")
PEOPLE_KEYS: tuple[Key, ...] = KEYS
CLASS_KEYS: tuple[Key, ...] = ("external_id", "alt_external_id")


class Candidate(NamedTuple):
    """An existing entity that shares a key with the incoming record."""

    id: int
    kind: str  # student, educator or class


class Match(NamedTuple):
    """The outcome of matching one incoming record."""

    outcome: Literal["create", "match", "conflict"]
    entity_id: int | None = None
    candidates: tuple[int, ...] = ()
    key: Key | None = None
    message: str = ""


def key_value(key: Key, raw: str | None) -> str | None:
    """R6: the comparable form of a key; blank keys never match and never conflict."""
    if raw is None or not raw.strip():
        return None
    return username_key(raw) if key == "username" else raw.strip()


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def match_record(
    *,
    kind: str,
    found: Mapping[Key, Sequence[Candidate]],
    claimed_twice: Sequence[Key] = (),
    contested: Collection[int] = (),
) -> Match:
    """Decide one incoming record from the candidates each of its keys found.

    `claimed_twice` lists the keys whose value another incoming record also carries;
    `contested` holds the existing entities that two or more incoming records point at, by
    any keys (a username handed from one person to another in one snapshot) (R9).
    """
    if claimed_twice:
        key = claimed_twice[0]
        # Every entity any key of the record names is a candidate: each is held back (R9).
        ids = tuple(sorted({c.id for hits in found.values() for c in hits}))
        return Match(
            "conflict",
            candidates=ids,
            key=key,
            message=f"another record of this snapshot has the same {key.replace('_', ' ')}",
        )
    seen: dict[int, Candidate] = {}
    conflict_key: Key | None = None
    for key in KEYS:
        for candidate in found.get(key, ()):
            if candidate.id not in seen and seen:
                conflict_key = conflict_key or key
            seen.setdefault(candidate.id, candidate)
    if not seen:
        return Match("create")
    ids = tuple(sorted(seen))
    shared = next((key for key in KEYS for c in found.get(key, ()) if c.id in contested), None)
    if shared is not None:
        return Match(
            "conflict",
            candidates=ids,
            key=shared,
            message="another record of this snapshot points at the same existing "
            f"{'class' if kind == 'class' else 'person'}",
        )
    if len(seen) > 1:
        return Match(
            "conflict",
            candidates=ids,
            key=conflict_key,
            message=f"its keys point at {len(seen)} different existing entities",
        )
    (only,) = seen.values()
    if only.kind != kind:
        key = next(k for k in KEYS if any(c.id == only.id for c in found.get(k, ())))
        return Match(
            "conflict",
            candidates=ids,
            key=key,
            message=f"its {key.replace('_', ' ')} belongs to {_a(only.kind)}, not {_a(kind)} (R10)",
        )
    return Match("match", entity_id=only.id, candidates=ids)
