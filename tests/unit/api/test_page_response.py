"""A page of views is the JSON that encoding it whole gives, its shared `fields` blocks
encoded once (api.people.page_response)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from rollbook.api.people import page_response
from rollbook.services.views import fields_block

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)


def _views(names: list[tuple[str, str | None, int, int]]) -> list[dict[str, Any]]:
    views = []
    for number, (first, middle, manual_mask, sis_mask) in enumerate(names):
        values = {"first_name": first, "middle_name": middle, "grade": None}
        views.append(
            {
                "id": str(number),
                "origin": "sis" if number % 2 else "manual",
                **values,
                "version": number,
                "fields": fields_block(
                    "student",
                    origin="sis" if number % 2 else "manual",
                    values=values,
                    manual_mask=manual_mask,
                    sis_mask=sis_mask,
                ),
            }
        )
    return views


@given(
    names=st.lists(
        st.tuples(TEXT, st.none() | TEXT, st.integers(0, 7), st.integers(0, 7)), max_size=8
    ),
    cursor=st.none() | TEXT,
)
def test_a_page_is_the_json_of_the_whole_page(
    names: list[tuple[str, str | None, int, int]], cursor: str | None
) -> None:
    views = _views(names)
    sent = page_response(views, cursor)
    whole = JSONResponse({"items": views, "next_cursor": cursor})
    assert sent.body == whole.body
    assert sent.media_type == "application/json"
    assert json.loads(sent.body)["items"] == json.loads(whole.body)["items"]


def test_a_view_without_a_fields_block_is_encoded_as_it_is() -> None:
    sent = page_response([{"id": "1", "fields": {"a": 1}}, {"id": "2"}], "next")
    assert json.loads(sent.body) == {
        "items": [{"id": "1", "fields": {"a": 1}}, {"id": "2"}],
        "next_cursor": "next",
    }
