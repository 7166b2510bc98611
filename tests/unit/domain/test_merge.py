"""rules.md's two tables (R11/R12 and R14) as table tests of domain/merge.py."""

from __future__ import annotations

import pytest

from rollbook.domain.merge import locked_field, needs_approval, product_link, shared_field

# the SIS now sends | current value | its source | action | value after | counted
SHARED_TABLE = [
    ("03", "03", "sis", "nothing", "03", False),
    ("04", "03", "sis", "set", "04", False),
    ("04", "05", "manual", "set", "04", True),
    ("04", "04", "manual", "claim", "04", False),
    (None, "03", "sis", "clear", None, False),
    ("", "03", "sis", "clear", None, False),
    ("  ", "03", "sis", "clear", None, False),
    (None, "05", "manual", "keep", "05", False),
    ("", "05", "manual", "keep", "05", False),
    (None, None, None, "nothing", None, False),
    ("03", None, None, "set", "03", False),
]


@pytest.mark.parametrize(("sent", "current", "source", "action", "after", "counted"), SHARED_TABLE)
def test_r11_r12_shared_field_table(
    sent: str | None,
    current: str | None,
    source: str | None,
    action: str,
    after: str | None,
    counted: bool,
) -> None:
    outcome = shared_field(sent=sent, current=current, current_source=source)  # type: ignore[arg-type]
    assert outcome.action == action
    assert outcome.value == after
    assert outcome.manual_edit_overwritten is counted
    assert outcome.sis_sends is (sent is not None and bool(sent.strip()))


def test_r11_source_after_the_sync() -> None:
    assert shared_field(sent="04", current="04", current_source="manual").source == "sis"
    assert shared_field(sent=None, current="05", current_source="manual").source == "manual"
    assert shared_field(sent=None, current="05", current_source="sis").source is None


def test_r16_setting_changed_by_hand_goes_back_to_the_sis_value() -> None:
    outcome = shared_field(sent="English", current="Spanish", current_source="manual")
    assert (outcome.action, outcome.value, outcome.manual_edit_overwritten) == (
        "set",
        "English",
        True,
    )


@pytest.mark.parametrize(
    ("sent", "current", "action", "after"),
    [
        ("Tim", "Timothy", "set", "Tim"),  # R7: Timothy entered by hand, Tim in the SIS
        ("Tim", "Tim", "nothing", "Tim"),
        ("", "MATH-1", "clear", None),
        ([], ["03"], "clear", []),  # a class's grades sent blank: an empty list, never null
        (["09", "10"], ["10", "09"], "nothing", ["10", "09"]),
    ],
)
def test_r11_locked_field_takes_the_sis_value(
    sent: object, current: object, action: str, after: object
) -> None:
    outcome = locked_field(sent=sent, current=current)
    assert (outcome.action, outcome.value) == (action, after)
    assert outcome.manual_edit_overwritten is False


# the SIS sends p | p associated now | its source | the sync
PRODUCT_TABLE = [
    (True, False, None, "add"),
    (True, True, "manual", "claim"),
    (True, True, "sis", "nothing"),
    (False, True, "sis", "remove"),
    (False, True, "manual", "keep"),
    (False, False, None, "nothing"),
]


@pytest.mark.parametrize(("sends", "linked", "source", "action"), PRODUCT_TABLE)
def test_r14_product_table(sends: bool, linked: bool, source: str | None, action: str) -> None:
    assert product_link(sis_sends=sends, linked=linked, source=source) == action  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("active", "deactivating", "percent", "held"),
    [
        (100, 10, 10, False),  # D = floor(0.1 * 100): allowed
        (100, 11, 10, True),
        (9, 1, 10, True),  # floor(0.9) = 0
        (9, 0, 10, False),
        (1, 1, 10, True),  # D = A > 0
        (0, 0, 10, False),
        (50, 50, 100, True),  # D = A even at 100%
        (50, 49, 100, False),
        (1000, 0, 0, False),
        (1000, 1, 0, True),
    ],
)
def test_r20_threshold(active: int, deactivating: int, percent: int, held: bool) -> None:
    assert (
        needs_approval(active=active, deactivating=deactivating, threshold_percent=percent) is held
    )
