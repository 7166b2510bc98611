"""From CSV cells to typed records, one generator per OneRoster file (interfaces.md mapping)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rollbook.domain.catalogue import Catalogue, SettingValue
from rollbook.domain.values import ValueProblem
from rollbook.sync.csvread import Layout
from rollbook.sync.records import (
    ClassResourceRow,
    ClassRow,
    EnrollmentRow,
    FileMode,
    Issue,
    OrgRow,
    ResourceRow,
    RoleRow,
    UserRow,
    Version,
)
from rollbook.sync.rowcheck import RowChecker, explain, unstorable
from rollbook.sync.vocab import (
    KNOWN_ROLES,
    ORG_TYPES,
    ROLE_TYPES,
    is_extension,
    is_known_role,
    map_role,
)

Records = Iterable[tuple[int, list[str]]]
# `ext:` values are valid and never mapped (vocab.is_extension): only "not a known one"
# matters, so a long one is kept to the size of its staging column (stage_orgs.type,
# stage_roles.role, stage_roles.role_type) instead of failing the run on PostgreSQL.
EXTENSION_TYPE, EXTENSION_ROLE, EXTENSION_ROLE_TYPE = 32, 40, 16
_SETTING_CACHE_LIMIT = 4096


def orgs(
    layout: Layout, version: Version, mode: FileMode, rows: Records
) -> Iterator[OrgRow | Issue]:
    """orgs.csv rows as OrgRow; `type` in OneRoster's spelling."""
    check = RowChecker(layout, version, mode)
    fields = check.fields(
        ("name", "name", "an organization needs a name"), ("identifier", "identifier", "")
    )
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        name, identifier = check.texts(cells, fields)
        org_type = _org_type(check, cells)
        parent = check.cell(cells, "parentSourcedId") or None
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None:
            continue
        yield OrgRow(line, sourced_id, name, org_type, identifier or None, parent, check.status)


def _org_type(check: RowChecker, cells: list[str]) -> str:
    raw = check.cell(cells, "type")
    if not raw:
        check.error("missing_value", "type", "is blank; write school, district or another type")
        return ""
    known = ORG_TYPES.get(raw.casefold())
    if known is not None:
        return known
    if is_extension(raw):
        return raw[:EXTENSION_TYPE]
    allowed = ", ".join(ORG_TYPES.values())
    check.error("bad_enum", "type", f"{raw!r} is not a OneRoster org type ({allowed})")
    return ""


def users(
    layout: Layout, version: Version, mode: FileMode, rows: Records, catalogue: Catalogue
) -> Iterator[UserRow | Issue]:
    """users.csv rows as UserRow, with product settings from `metadata.*` columns."""
    check = RowChecker(layout, version, mode)
    settings = _Settings(check, layout, catalogue)
    i_enabled = layout.index["enabledUser"]
    i_grades = layout.index.get("grades")
    i_orgs = layout.index.get("orgSourcedIds" if version == "1.1" else "primaryOrgSourcedId")
    fields = check.fields(
        ("username", "username", "a user needs a username"),
        ("givenName", "name", "a user needs a first name"),
        ("familyName", "name", "a user needs a last name"),
        ("middleName", "optional_name", ""),
        ("preferredGivenName", "optional_name", ""),
        ("identifier", "identifier", ""),
        ("email", "email", ""),
    )
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        enabled = _enabled(check, cells[i_enabled])
        username, given, family, middle, preferred, identifier, email = check.texts(cells, fields)
        grade = None
        if i_grades is not None and cells[i_grades].strip():
            # Only the first grade is kept (interfaces.md), so only it can cost the row.
            grade = check.grade(cells[i_grades].split(",", 1)[0], "grades")
        role = _required_role(check, cells) if version == "1.1" else None
        orgs_of = _split(cells[i_orgs]) if i_orgs is not None else ()
        values = settings.read(cells)
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None:
            continue
        yield UserRow(
            line,
            sourced_id,
            check.status,
            enabled,
            username,
            identifier or None,
            given,
            family,
            middle or None,
            preferred or None,
            email or None,
            grade,
            role,
            orgs_of,
            values,
        )


def _enabled(check: RowChecker, raw: str) -> bool:
    if raw == "true":
        return True
    if raw == "false":
        return False
    word = raw.strip().casefold()
    if word in ("true", "false"):
        check.warn_once(
            "lenient_boolean",
            "enabledUser",
            f"{raw.strip()!r} is read as {word}; OneRoster writes true or false",
        )
        return word == "true"
    if not word:
        check.warn_once(
            "blank_enabled",
            "enabledUser",
            "is blank; such users are read as enabled (true)",
        )
        return True
    check.error("bad_enum", "enabledUser", f"{raw.strip()!r} is not true or false")
    return True


def _required_role(check: RowChecker, cells: list[str]) -> str | None:
    raw = check.cell(cells, "role")
    if not raw:
        check.error("missing_value", "role", "is blank; write student, teacher or another role")
        return None
    return _role(check, raw, "role")


def _role(check: RowChecker, raw: str, column: str) -> str | None:
    if not is_known_role(raw):
        check.error("bad_enum", column, f"{raw!r} is not a OneRoster role ({KNOWN_ROLES})")
        return None
    _, warning = map_role(
        raw,
        check.version,
        file=check.file,
        line=check.line,
        column=column,
        sourced_id=check.sourced_id,
    )
    if warning is not None:
        check.add_once(warning)
    return raw[:EXTENSION_ROLE]


def _split(raw: str) -> tuple[str, ...]:
    if "," not in raw:
        value = raw.strip()
        return (value,) if value else ()
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


class _Settings:
    """Product settings of a users.csv row: blank is not sent (R12), a bad value skips the row."""

    def __init__(self, check: RowChecker, layout: Layout, catalogue: Catalogue) -> None:
        self._check = check
        self._columns = layout.settings
        self._catalogue = catalogue
        self._cache: dict[tuple[int, str], SettingValue] = {}

    def read(self, cells: list[str]) -> tuple[tuple[str, str, SettingValue], ...]:
        if not self._columns:
            return ()
        found: list[tuple[str, str, SettingValue]] = []
        for column in self._columns:
            raw = cells[column.index].strip()
            if not raw:
                continue
            value = self._cache.get((column.index, raw))
            if value is None:
                try:
                    value = self._catalogue.parse_value(column.product, column.setting, raw)
                except ValueProblem as problem:
                    self._check.error("bad_setting", column.header, explain(raw, problem))
                    continue
                if column.cacheable and len(self._cache) < _SETTING_CACHE_LIMIT:
                    self._cache[(column.index, raw)] = value
            found.append((column.product, column.setting, value))
        return tuple(found)


def roles(
    layout: Layout, version: Version, mode: FileMode, rows: Records
) -> Iterator[RoleRow | Issue]:
    """roles.csv (1.2) rows as RoleRow; roles rollbook does not import are still handed on."""
    check = RowChecker(layout, version, mode)
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        user = check.reference(cells, "userSourcedId", "a role belongs to a user")
        org = check.reference(cells, "orgSourcedId", "a role is held at an organization")
        role = _required_role(check, cells)
        role_type = _role_type(check, check.cell(cells, "roleType"))
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None or role is None:
            continue
        yield RoleRow(line, sourced_id, check.status, user, role, role_type, org)


def _role_type(check: RowChecker, raw: str) -> str | None:
    if not raw:
        check.warn_once("blank_role_type", "roleType", "is blank; read as not given")
        return None
    known = ROLE_TYPES.get(raw.casefold())
    if known is None and not is_extension(raw):
        check.error("bad_enum", "roleType", f"{raw!r} is not primary or secondary")
    return known or raw[:EXTENSION_ROLE_TYPE]


def classes(
    layout: Layout, version: Version, mode: FileMode, rows: Records
) -> Iterator[ClassRow | Issue]:
    """classes.csv rows as ClassRow."""
    check = RowChecker(layout, version, mode)
    fields = check.fields(
        ("title", "name", "a class needs a title"), ("classCode", "identifier", "")
    )
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        title, code = check.texts(cells, fields)
        school = check.reference(cells, "schoolSourcedId", "a class belongs to a school")
        grades = check.grades(cells, "grades")
        subjects = check.strings(cells, "subjects")
        periods = check.strings(cells, "periods")
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None:
            continue
        yield ClassRow(
            line, sourced_id, check.status, title, code or None, school, grades, subjects, periods
        )


def enrollments(
    layout: Layout, version: Version, mode: FileMode, rows: Records
) -> Iterator[EnrollmentRow | Issue]:
    """enrollments.csv rows as EnrollmentRow; the role is handed on as sent."""
    check = RowChecker(layout, version, mode)
    i_role = layout.index["role"]
    i_school = layout.index["schoolSourcedId"]
    i_class = layout.index["classSourcedId"]
    i_user = layout.index["userSourcedId"]
    # The largest file by far: the roles seen valid once are not looked up again.
    valid_roles: set[str] = set()
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        klass = cells[i_class].strip()
        user = cells[i_user].strip()
        if not klass or not user or unstorable(klass) or unstorable(user):
            check.reference(cells, "classSourcedId", "an enrollment is in a class")
            check.reference(cells, "userSourcedId", "an enrollment is of a user")
        school = cells[i_school].strip() or None
        if school is not None:
            check.check_id(school, "schoolSourcedId")
        role = cells[i_role].strip()
        if role not in valid_roles:
            if not role:
                check.error("missing_value", "role", "is blank; write student or teacher")
            elif is_known_role(role):
                # Enrollments may say administrator in either version: no version warning.
                valid_roles.add(role)
            else:
                message = f"{role!r} is not a OneRoster role ({KNOWN_ROLES})"
                check.error("bad_enum", "role", message)
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None:
            continue
        yield EnrollmentRow(line, sourced_id, check.status, klass, user, school, role)


def resources(
    layout: Layout, version: Version, mode: FileMode, rows: Records
) -> Iterator[ResourceRow | Issue]:
    """resources.csv rows as ResourceRow; which vendorResourceId is a product is the plan's call."""
    check = RowChecker(layout, version, mode)
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        vendor_id = check.reference(
            cells, "vendorResourceId", "rollbook reads the product code there"
        )
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None:
            continue
        yield ResourceRow(line, sourced_id, check.status, vendor_id)


def class_resources(
    layout: Layout, version: Version, mode: FileMode, rows: Records
) -> Iterator[ClassResourceRow | Issue]:
    """classResources.csv rows as ClassResourceRow."""
    check = RowChecker(layout, version, mode)
    for line, cells in rows:
        if not check.begin(line, cells):
            yield from check.take()
            continue
        klass = check.reference(cells, "classSourcedId", "the row links a class")
        resource = check.reference(cells, "resourceSourcedId", "the row links a resource")
        if check.pending:
            yield from check.take()
        sourced_id = check.sourced_id
        if check.failed or sourced_id is None:
            continue
        yield ClassResourceRow(line, sourced_id, check.status, klass, resource)
