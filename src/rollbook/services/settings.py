"""Students' product settings by hand, one student or many (R16, with R11's warning)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from rollbook.domain.catalogue import Catalogue, SettingValue
from rollbook.domain.errors import Problem, ValidationFailed
from rollbook.domain.fields import SIS_SENDS_WARNING
from rollbook.domain.permissions import Actor, in_scope, require
from rollbook.domain.values import ValueProblem
from rollbook.services import people
from rollbook.services.common import parse_id
from rollbook.services.history import Recorder
from rollbook.store import people as people_store
from rollbook.store import settings as store
from rollbook.store.models import Org, ProductSetting, utcnow

MAX_BULK = 10_000


def settings_view(rows: list[ProductSetting], catalogue: Catalogue) -> dict[str, Any]:
    """Every setting of every product: the value in effect, its source, whether the SIS sends it."""
    by_key = {(r.product, r.setting): r for r in rows}
    view: dict[str, Any] = {}
    for product in catalogue.products.values():
        view[product.code] = {}
        for setting in product.settings.values():
            row = by_key.get((product.code, setting.code))
            value = row.value if row is not None and row.value is not None else setting.default
            view[product.code][setting.code] = {
                "value": value,
                "default": setting.default,
                "source": row.source if row is not None else None,
                "sis_sends": bool(row and row.sis_sends),
                "editable": True,
            }
    return view


def read(
    session: Session, *, actor: Actor, org: Org, student_id: str, catalogue: Catalogue
) -> dict[str, Any]:
    loaded = people.load(session, actor=actor, org=org, kind="student", person_id=student_id)
    return settings_view(store.settings_of(session, person_id=loaded.person.id), catalogue)


def _parse(catalogue: Catalogue, product: str, setting: str, raw: Any) -> SettingValue | None:
    """A value the catalogue allows; null puts a known setting back to its default."""
    if raw is None and catalogue.setting(product, setting) is not None:
        return None
    return catalogue.parse_value(product, setting, raw)


def _parse_changes(
    data: Mapping[str, Any], catalogue: Catalogue
) -> list[tuple[str, str, SettingValue | None]]:
    """`{product: {setting: value}}` checked against the catalogue; null clears a setting."""
    problems: list[Problem] = []
    parsed: list[tuple[str, str, SettingValue | None]] = []
    for product, settings in data.items():
        if not isinstance(settings, dict):
            problems.append(Problem(product, "must be an object of setting: value"))
            continue
        if not settings and catalogue.product(product) is None:
            problems.append(Problem(product, "is not a product of the catalogue"))
        for setting, raw in settings.items():
            try:
                parsed.append((product, setting, _parse(catalogue, product, setting, raw)))
            except ValueProblem as problem:
                problems.append(Problem(f"{product}.{setting}", str(problem)))
    if problems:
        raise ValidationFailed(problems)
    return parsed


def _set(
    session: Session,
    recorder: Recorder,
    *,
    org: Org,
    person_id: int,
    row: ProductSetting | None,
    product: str,
    setting: str,
    value: SettingValue | None,
) -> bool:
    """One hand edit of one setting; False when it changes nothing."""
    if row is not None and row.value == value and row.source == "manual":
        return False
    if row is None and value is None:
        return False
    old = row.value if row is not None else None
    if row is None:
        row = ProductSetting(
            org_id=org.id, person_id=person_id, product=product, setting=setting, sis_sends=False
        )
        session.add(row)
    # R11: the value's source is now a hand edit, even when it equals what the SIS sent; the
    # change is recorded either way (R23), so that a sync knows the setting was edited since
    # it ran and gives the value back to the SIS (sync/noop.py, sync/quick.py).
    row.value, row.source, row.updated_at = value, "manual", utcnow()
    recorder.add(
        "student",
        person_id,
        "setting_changed",
        field=f"{product}.{setting}",
        old=old,
        new=value,
    )
    return True


def write(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    student_id: str,
    data: Mapping[str, Any],
    catalogue: Catalogue,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """PATCH a student's settings; returns them and the R11 warnings of the edit."""
    loaded = people.load(session, actor=actor, org=org, kind="student", person_id=student_id)
    require(actor, "students.write")
    changes = _parse_changes(data, catalogue)
    rows = {
        (r.product, r.setting): r for r in store.settings_of(session, person_id=loaded.person.id)
    }
    recorder = Recorder(session, actor=actor, org_id=org.id)
    warnings = []
    for product, setting, value in changes:
        row = rows.get((product, setting))
        changed = _set(
            session,
            recorder,
            org=org,
            person_id=loaded.person.id,
            row=row,
            product=product,
            setting=setting,
            value=value,
        )
        if changed and row is not None and row.sis_sends:
            warnings.append({"field": f"{product}.{setting}", "message": SIS_SENDS_WARNING})
    session.flush()
    recorder.flush()
    rows_now = store.settings_of(session, person_id=loaded.person.id)
    return settings_view(rows_now, catalogue), warnings


def bulk(
    session: Session,
    *,
    actor: Actor,
    org: Org,
    student_ids: list[str],
    product: str,
    setting: str,
    value: Any,
    catalogue: Catalogue,
) -> dict[str, Any]:
    """R16: one setting, one value, many students; says how many the next sync will revert."""
    require(actor, "students.write")
    if not student_ids:
        raise ValidationFailed.one("student_ids", "choose at least one student")
    if len(student_ids) > MAX_BULK:
        raise ValidationFailed.one("student_ids", f"at most {MAX_BULK} students at once")
    try:
        parsed = _parse(catalogue, product, setting, value)
    except ValueProblem as problem:
        raise ValidationFailed.one(f"{product}.{setting}", str(problem)) from None
    ids = _reachable_students(session, actor=actor, org=org, raw_ids=student_ids)
    rows = store.setting_rows(session, person_ids=ids, product=product, setting=setting)
    recorder = Recorder(session, actor=actor, org_id=org.id)
    updated = reverted = 0
    for person_id in ids:
        row = rows.get(person_id)
        if _set(
            session,
            recorder,
            org=org,
            person_id=person_id,
            row=row,
            product=product,
            setting=setting,
            value=parsed,
        ):
            updated += 1
            reverted += bool(row is not None and row.sis_sends)
    session.flush()
    recorder.flush()
    warnings = []
    if reverted:
        warnings.append(
            {
                "field": f"{product}.{setting}",
                "message": f"{reverted} of these students have this setting sent by your SIS: "
                "their change will be replaced at the next sync",
            }
        )
    return {
        "product": product,
        "setting": setting,
        "value": parsed,
        "students": len(ids),
        "updated": updated,
        "unchanged": len(ids) - updated,
        "will_be_reverted_by_sync": reverted,
        "warnings": warnings,
    }


def _reachable_students(
    session: Session, *, actor: Actor, org: Org, raw_ids: list[str]
) -> list[int]:
    """Every id must name an active student the actor may see (R2), or the request is refused."""
    wanted: list[int] = []
    bad: list[str] = []
    for raw in dict.fromkeys(raw_ids):
        try:
            wanted.append(parse_id(str(raw), "student"))
        except Exception:
            bad.append(str(raw))
    found = people_store.people_by_ids(session, org_id=org.id, ids=wanted)
    schools = people_store.school_ids_of(session, found)
    for person_id in wanted:
        person = found.get(person_id)
        if (
            person is None
            or person.kind != "student"
            or not in_scope(actor, schools.get(person_id, []))
        ):
            bad.append(str(person_id))
    if bad:
        shown = ", ".join(bad[:10]) + (" …" if len(bad) > 10 else "")
        raise ValidationFailed.one("student_ids", f"no such student: {shown}")
    return wanted
