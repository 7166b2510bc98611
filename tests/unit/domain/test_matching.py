"""R6, R9, R10: matching an incoming SIS record against existing entities."""

from __future__ import annotations

from rollbook.domain.matching import Candidate, key_value, match_record

ALICE = Candidate(1, "student")
BOB = Candidate(2, "student")
TEACHER = Candidate(3, "educator")


def test_r6_no_candidate_creates() -> None:
    assert match_record(kind="student", found={}).outcome == "create"


def test_r6_any_single_key_matches() -> None:
    for key in ("username", "external_id", "alt_external_id"):
        match = match_record(kind="student", found={key: [ALICE]})  # type: ignore[dict-item]
        assert (match.outcome, match.entity_id) == ("match", 1)


def test_r6_all_keys_on_the_same_entity_match() -> None:
    match = match_record(
        kind="student",
        found={"username": [ALICE], "external_id": [ALICE], "alt_external_id": [ALICE]},
    )
    assert (match.outcome, match.entity_id) == ("match", 1)


def test_r9_keys_pointing_at_two_entities_conflict() -> None:
    match = match_record(kind="student", found={"external_id": [ALICE], "username": [BOB]})
    assert match.outcome == "conflict"
    assert match.candidates == (1, 2)
    assert match.key == "username"


def test_r9_two_incoming_records_claiming_one_key_conflict() -> None:
    match = match_record(kind="student", found={"username": [ALICE]}, claimed_twice=["username"])
    assert (match.outcome, match.candidates, match.key) == ("conflict", (1,), "username")


def test_r10_username_of_an_educator_sent_for_a_student_conflicts() -> None:
    match = match_record(kind="student", found={"username": [TEACHER]})
    assert match.outcome == "conflict"
    assert match.candidates == (3,)
    assert "educator" in match.message


def test_r6_blank_keys_never_match() -> None:
    assert key_value("username", "  ") is None
    assert key_value("external_id", None) is None
    assert key_value("username", "  Tim.Baker ") == "tim.baker"
    assert key_value("external_id", " S-1 ") == "S-1"


def test_r9_an_entity_two_incoming_records_point_at_conflicts() -> None:
    match = match_record(kind="student", found={"username": [ALICE]}, contested={1})
    assert (match.outcome, match.candidates, match.key) == ("conflict", (1,), "username")
    assert "same existing person" in match.message
    assert match_record(kind="student", found={"username": [ALICE]}, contested={2}).outcome == (
        "match"
    )


def test_r9_claimed_twice_lists_every_entity_the_record_names() -> None:
    match = match_record(
        kind="student",
        found={"username": [ALICE], "external_id": [BOB]},
        claimed_twice=["username"],
    )
    assert (match.outcome, match.candidates) == ("conflict", (1, 2))
