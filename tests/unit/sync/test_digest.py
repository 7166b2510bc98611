"""An entity's `sis_hash` is the digest of what the SIS sent (sync/incoming.py): databases
store it, so its form never changes between versions, or every synced entity would look
changed to the first run after an upgrade."""

from __future__ import annotations

from rollbook.sync.incoming import Incoming

# The digests of these two records as every version so far has computed them.
PERSON_DIGEST = "0dd40f6c81ea8225bf2516ae4dd1780d68ad5ed023f38f0218c3a5be6a3f180d"
CLASS_DIGEST = "75eebd64e45465a15a0d92f735a8695a3dfda1f3f7bfd2080fb31762c2810ad1"


def _person(**values: object) -> Incoming:
    sent = {
        "username": "ann.lee",
        "first_name": "Ann",
        "last_name": 'Lée "Q"',
        "school_ids": [13, 12],
        "grade": "05",
        "email": None,
        **values,
    }
    settings = {("ill", "language_support"): "Spanish", ("reading", "session_minutes"): 30}
    return Incoming(line=7, sourced_id="stu-1", kind="student", values=sent, settings=settings)


def test_the_digest_of_a_person_and_a_class_keeps_its_form() -> None:
    assert _person().digest() == PERSON_DIGEST
    klass = Incoming(
        line=3,
        sourced_id="cls-1",
        kind="class",
        values={"name": "Art", "grades": ["02", "01"], "school_id": 4},
    )
    assert klass.digest() == CLASS_DIGEST


def test_the_digest_ignores_order_and_the_line_and_sees_every_value() -> None:
    assert _person(school_ids=[12, 13]).digest() == PERSON_DIGEST  # a list is a set
    sent = _person()
    reordered = Incoming(
        line=99,
        sourced_id="stu-1",
        kind="student",
        values=dict(reversed(sent.values.items())),
        settings=dict(reversed(sent.settings.items())),
    )
    assert reordered.digest() == PERSON_DIGEST
    assert _person(grade="06").digest() != PERSON_DIGEST
    assert _person(email="ann@example.org").digest() != PERSON_DIGEST
    assert Incoming(line=7, sourced_id="stu-1", kind="student", values=sent.values).digest() != (
        PERSON_DIGEST
    )  # the settings count
