"""Short hands for the API tests: bodies of new entities, error checks, page walks, snapshots."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Api, unique


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error body of a refused request, after checking its status and code."""
    assert response.status_code == status, (response.status_code, response.text)
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    return error


def invalid(response: httpx.Response, *fields: str) -> dict[str, Any]:
    """A validation_error whose `details` name exactly these fields."""
    error = error_of(response, 422, "validation_error")
    named = {d["field"] for d in error["details"]}
    assert named == set(fields), error["details"]
    return error


def student_body(school: str, **values: Any) -> dict[str, Any]:
    return {
        "username": unique("student"),
        "first_name": "Ana",
        "last_name": unique("Lopez"),
        "school_ids": [school],
        **values,
    }


def educator_body(school: str | None, **values: Any) -> dict[str, Any]:
    return {
        "username": unique("teacher"),
        "first_name": "Grace",
        "last_name": unique("Hopper"),
        "role": "teacher",
        "school_ids": [school] if school else [],
        **values,
    }


def class_body(school: str, **values: Any) -> dict[str, Any]:
    return {"name": unique("Group "), "school_id": school, **values}


def new_student(api: Api, school: str, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = api.ok("POST", "students", 201, json=student_body(school, **values))
    return body


def new_educator(api: Api, school: str | None, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = api.ok("POST", "educators", 201, json=educator_body(school, **values))
    return body


def new_class(api: Api, school: str, **values: Any) -> dict[str, Any]:
    body: dict[str, Any] = api.ok("POST", "classes", 201, json=class_body(school, **values))
    return body


def history(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every change of one entity (`students/1`), newest first."""
    return walk(api, f"{path}/history", **params)


def walk(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, following `next_cursor` page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        page = api.ok("GET", path, params={**params, **({"cursor": cursor} if cursor else {})})
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the pages never end")


def snapshot(api: Api, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An entity as read, with its history: what a refused request must leave as it was."""
    return api.ok("GET", path), history(api, path)


def usernames(items: list[dict[str, Any]]) -> list[str]:
    return [item["username"] for item in items]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]
