"""The catalogue and each class's products (R14): every association has a source."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, Roster
from tests.integration.helpers import error_of, history, new_class

CODES = {
    "ill",
    "espanol",
    "reading",
    "lectura",
    "galileo",
    "mypath_reading",
    "mypath_math",
    "science",
    "purpose",
}


def _links(api: Api, klass: str) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in api.ok("GET", f"classes/{klass}/products")["items"]}


def _class(roster: Roster, api: Api, origin: str, school: str) -> str:
    if origin == "sis":
        return roster.sis_class(school_id=school, products=["ill"])
    klass: str = new_class(api, school)["id"]
    api.ok("PUT", f"classes/{klass}/products/ill")
    return klass


def test_r16_catalogue_lists_every_product_with_its_settings(roster: Roster) -> None:
    items = roster.teacher().api.ok("GET", "/api/v1/products")["items"]
    assert {p["code"] for p in items} == CODES
    ill = next(p for p in items if p["code"] == "ill")
    settings = {s["code"]: s for s in ill["settings"]}
    assert settings["language_support"]["default"] == "English"
    assert "Spanish" in settings["language_support"]["values"]
    assert (settings["session_minutes"]["min"], settings["session_minutes"]["max"]) == (10, 120)


def test_catalogue_needs_a_credential(roster: Roster) -> None:
    error_of(roster.anonymous().get("/api/v1/products"), 401, "unauthenticated")


def test_r14_sis_products_of_a_sis_class_read_with_their_source(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = roster.sis_class(school_id=school, products=["ill", "reading"])
    assert _links(teacher.api, klass)["ill"] == {
        "code": "ill",
        "name": "Language & Literacy",
        "source": "sis",
        "sis_sends": True,
    }
    assert set(_links(teacher.api, klass)) == {"ill", "reading"}


@pytest.mark.parametrize("origin", ["sis", "manual"])
def test_r14_product_added_by_hand_has_manual_source(roster: Roster, origin: str) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = _class(roster, teacher.api, origin, school)
    added = teacher.api.ok("PUT", f"classes/{klass}/products/galileo")
    assert added == {
        "code": "galileo",
        "name": "Galileo K\u201312",
        "source": "manual",
        "sis_sends": False,
    }
    assert set(_links(teacher.api, klass)) == {"ill", "galileo"}
    assert history(teacher.api, f"classes/{klass}")[0]["action"] == "product_added"


@pytest.mark.parametrize("origin", ["sis", "manual"])
def test_r14_product_removed_by_hand_from_any_class(roster: Roster, origin: str) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = _class(roster, teacher.api, origin, school)
    teacher.api.ok("DELETE", f"classes/{klass}/products/ill", 204)
    teacher.api.ok("DELETE", f"classes/{klass}/products/ill", 204)
    assert _links(teacher.api, klass) == {}
    change = history(teacher.api, f"classes/{klass}")[0]
    assert (change["action"], change["old"]["code"]) == ("product_removed", "ill")
    assert change["old"]["source"] == ("sis" if origin == "sis" else "manual")


def test_r14_adding_a_product_already_there_keeps_its_source(roster: Roster) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = roster.sis_class(school_id=school, products=["ill"])
    assert teacher.api.ok("PUT", f"classes/{klass}/products/ill")["source"] == "sis"
    assert history(teacher.api, f"classes/{klass}") == []


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_r14_unknown_product_is_not_found(roster: Roster, method: str) -> None:
    school = roster.school()
    teacher = roster.teacher([school])
    klass = new_class(teacher.api, school)["id"]
    error_of(teacher.api.request(method, f"classes/{klass}/products/chess"), 404, "not_found")
    assert _links(teacher.api, klass) == {}


def test_r14_api_key_reads_products_but_may_not_change_them(roster: Roster) -> None:
    school = roster.school()
    klass = roster.sis_class(school_id=school, products=["science"])
    key = roster.api_key()
    assert set(_links(key, klass)) == {"science"}
    error_of(key.put(f"classes/{klass}/products/ill"), 403, "forbidden")
    error_of(key.delete(f"classes/{klass}/products/science"), 403, "forbidden")
    assert set(_links(key, klass)) == {"science"}
