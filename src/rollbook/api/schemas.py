"""Request and response shapes of the JSON API, as the OpenAPI document shows them.

Request models only check JSON types and refuse unknown fields; what a good value is
(grade codes, emails, locks, uniqueness) is decided in `domain/`, for every interface alike.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Strict: JSON `true` or `1.0` is not a reference to school 1.
SchoolRef = str | StrictInt


class StudentIn(Strict):
    username: str
    first_name: str
    last_name: str
    school_ids: list[SchoolRef]
    status: Literal["active", "inactive"] | None = None
    external_id: str | None = None
    alt_external_id: str | None = None
    middle_name: str | None = None
    preferred_first_name: str | None = None
    grade: str | None = None
    email: str | None = None
    notes: str | None = None


class StudentPatch(Strict):
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    school_ids: list[SchoolRef] | None = None
    status: Literal["active", "inactive"] | None = None
    external_id: str | None = None
    alt_external_id: str | None = None
    middle_name: str | None = None
    preferred_first_name: str | None = None
    grade: str | None = None
    email: str | None = None
    notes: str | None = None


class EducatorIn(Strict):
    username: str
    first_name: str
    last_name: str
    role: Literal["teacher", "administrator"]
    school_ids: list[SchoolRef] = Field(default_factory=list)
    admin_scope: Literal["school", "district"] | None = None
    status: Literal["active", "inactive"] | None = None
    external_id: str | None = None
    alt_external_id: str | None = None
    middle_name: str | None = None
    email: str | None = None
    notes: str | None = None


class EducatorPatch(Strict):
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    role: Literal["teacher", "administrator"] | None = None
    school_ids: list[SchoolRef] | None = None
    admin_scope: Literal["school", "district"] | None = None
    status: Literal["active", "inactive"] | None = None
    external_id: str | None = None
    alt_external_id: str | None = None
    middle_name: str | None = None
    email: str | None = None
    notes: str | None = None


class ClassIn(Strict):
    name: str
    school_id: SchoolRef
    kind: Literal["class", "group"] | None = None
    status: Literal["active", "inactive"] | None = None
    external_id: str | None = None
    alt_external_id: str | None = None
    grades: list[str] | None = None
    subjects: list[str] | None = None
    periods: list[str] | None = None
    notes: str | None = None


class ClassPatch(Strict):
    name: str | None = None
    school_id: SchoolRef | None = None
    kind: Literal["class", "group"] | None = None
    status: Literal["active", "inactive"] | None = None
    external_id: str | None = None
    alt_external_id: str | None = None
    grades: list[str] | None = None
    subjects: list[str] | None = None
    periods: list[str] | None = None
    notes: str | None = None


class OrgIn(Strict):
    slug: str
    name: str
    threshold_percent: int | None = None


class OrgPatch(Strict):
    threshold_percent: int


class SchoolIn(Strict):
    name: str
    external_id: str | None = None


class ApiKeyIn(Strict):
    name: str = "API key"


class BulkSettingIn(Strict):
    student_ids: list[str | int]
    product: str
    setting: str
    value: str | int | bool | None


# --- responses -----------------------------------------------------------------------


class FieldInfo(BaseModel):
    class_: Literal["locked", "shared", "manual"] = Field(alias="class")
    editable: bool
    source: Literal["sis", "manual"] | None
    sis_sends: bool


class WarningOut(BaseModel):
    field: str
    message: str


class EntityOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    origin: Literal["sis", "manual"]
    status: Literal["active", "inactive"]
    version: int
    external_id: str | None
    alt_external_id: str | None
    notes: str | None
    created_at: str
    updated_at: str
    fields: dict[str, FieldInfo]
    warnings: list[WarningOut] | None = None


class StudentOut(EntityOut):
    username: str
    first_name: str
    last_name: str
    middle_name: str | None
    preferred_first_name: str | None
    grade: str | None
    email: str | None
    school_ids: list[str]


class EducatorOut(EntityOut):
    username: str
    first_name: str
    last_name: str
    middle_name: str | None
    email: str | None
    school_ids: list[str]
    role: Literal["teacher", "administrator"]
    admin_scope: Literal["school", "district"] | None


class ClassOut(EntityOut):
    kind: Literal["class", "group"]
    name: str
    school_id: str
    grades: list[str]
    subjects: list[str]
    periods: list[str]


class StudentPage(BaseModel):
    items: list[StudentOut]
    next_cursor: str | None


class EducatorPage(BaseModel):
    items: list[EducatorOut]
    next_cursor: str | None


class ClassPage(BaseModel):
    items: list[ClassOut]
    next_cursor: str | None


class PersonClass(BaseModel):
    id: str
    name: str
    kind: Literal["class", "group"]
    origin: Literal["sis", "manual"]
    school_id: str
    member: bool
    selectable: bool


class PersonClassPage(BaseModel):
    items: list[PersonClass]
    next_cursor: str | None


class SchoolOut(BaseModel):
    id: str
    external_id: str | None
    name: str


class SchoolPage(BaseModel):
    items: list[SchoolOut]
    next_cursor: str | None


class OrgOut(BaseModel):
    slug: str
    name: str
    threshold_percent: int
    created_at: str


class OrgPage(BaseModel):
    items: list[OrgOut]
    next_cursor: str | None


class ApiKeyOut(BaseModel):
    key: str
    name: str
    message: str


class ProductLink(BaseModel):
    code: str
    name: str
    source: Literal["sis", "manual"]
    sis_sends: bool


class ProductLinkPage(BaseModel):
    items: list[ProductLink]
    next_cursor: str | None = None


class SettingOut(BaseModel):
    value: Any
    default: Any
    source: Literal["sis", "manual"] | None
    sis_sends: bool
    editable: bool


class SettingsOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    warnings: list[WarningOut] | None = None


class BulkOut(BaseModel):
    product: str
    setting: str
    value: Any
    students: int
    updated: int
    unchanged: int
    will_be_reverted_by_sync: int
    warnings: list[WarningOut]


class ActorOut(BaseModel):
    kind: Literal["educator", "api_key", "sync", "operator"]
    id: str
    name: str


class HistoryItem(BaseModel):
    at: str
    actor: ActorOut
    action: str
    field: str | None
    old: Any
    new: Any
    run_id: str | None


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int


class ProductOut(BaseModel):
    code: str
    name: str
    settings: list[dict[str, Any]]


class ProductPage(BaseModel):
    items: list[ProductOut]
    next_cursor: str | None = None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "no or bad credentials"),
        (403, "the role may not do this"),
        (404, "no such thing, or out of reach"),
        (409, "a rule refuses the change"),
        (412, "If-Match no longer matches"),
        (422, "a value is missing or malformed"),
    )
}
