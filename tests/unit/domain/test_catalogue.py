"""The product catalogue (R16): loaded from data, malformed entries refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from rollbook.domain.catalogue import CatalogueError, load_catalogue, parse_catalogue
from rollbook.domain.values import ValueProblem

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


def test_r16_bundled_catalogue_has_the_contracts_products() -> None:
    catalogue = load_catalogue()
    assert set(catalogue.products) == CODES
    with_language = {c for c, p in catalogue.products.items() if "language_support" in p.settings}
    assert with_language == {"ill", "reading", "mypath_reading"}
    for product in catalogue.products.values():
        minutes = product.settings["session_minutes"]
        assert (minutes.type, minutes.minimum, minutes.maximum) == ("int", 10, 120)


def test_r16_language_support_is_an_enum_defaulting_to_english() -> None:
    setting = load_catalogue().setting("ill", "language_support")
    assert setting is not None
    assert setting.default == "English"
    assert {"English", "Spanish"} <= set(setting.values)


@pytest.mark.parametrize(
    ("product", "setting", "raw", "stored"),
    [
        ("ill", "language_support", "spanish", "Spanish"),
        ("ill", "language_support", " HAITIAN creole ", "Haitian Creole"),
        ("ill", "session_minutes", 10, 10),
        ("ill", "session_minutes", "120", 120),
        ("galileo", "calculator_allowed", "yes", True),
        ("galileo", "calculator_allowed", False, False),
        ("purpose", "advisor_note", "  call home ", "call home"),
    ],
)
def test_r16_values_are_parsed_to_the_catalogue_form(
    product: str, setting: str, raw: Any, stored: Any
) -> None:
    assert load_catalogue().parse_value(product, setting, raw) == stored


@pytest.mark.parametrize(
    ("product", "setting", "raw", "says"),
    [
        ("ill", "language_support", "Klingon", "is not one of"),
        ("ill", "language_support", 3, "must be one of"),
        ("ill", "session_minutes", 9, "between 10 and 120"),
        ("ill", "session_minutes", 121, "between 10 and 120"),
        ("ill", "session_minutes", True, "whole number"),
        ("ill", "session_minutes", 30.5, "whole number"),
        ("galileo", "calculator_allowed", "maybe", "true or false"),
        ("purpose", "advisor_note", "x" * 201, "at most 200"),
        ("chess", "level", 1, "unknown product"),
        ("ill", "colour", "red", "no setting"),
    ],
)
def test_r16_values_the_catalogue_does_not_allow_are_refused(
    product: str, setting: str, raw: Any, says: str
) -> None:
    with pytest.raises(ValueProblem, match=says):
        load_catalogue().parse_value(product, setting, raw)


GOOD = """
[products.demo]
name = "Demo"
[products.demo.settings.minutes]
type = "int"
min = 1
max = 5
default = 2
"""


def test_a_small_catalogue_parses() -> None:
    catalogue = parse_catalogue(GOOD, origin="test.toml")
    assert catalogue.setting("demo", "minutes") is not None
    assert catalogue.products["demo"].describe()["settings"][0]["max"] == 5


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[products", "not valid TOML"),
        ("title = 'no products'", "needs a [products"),
        ("[products.Bad-Code]\nname = 'x'", "products.Bad-Code"),
        ("[products.nameless]\n", "products.nameless: needs a name"),
        (GOOD.replace('type = "int"', 'type = "float"'), "products.demo.settings.minutes"),
        (GOOD.replace("default = 2\n", ""), "products.demo.settings.minutes: needs a default"),
        (GOOD.replace("default = 2", "default = 9"), "products.demo.settings.minutes: default"),
        (GOOD.replace("min = 1\n", ""), "an int needs min and max"),
        (GOOD.replace("max = 5", "max = 5\ncolour = 'red'"), "unknown keys colour"),
        (
            '[products.p]\nname = "P"\n[products.p.settings.lang]\ntype = "enum"\n'
            'values = ["A", "a"]\ndefault = "A"',
            "products.p.settings.lang: an enum needs distinct values",
        ),
        (
            '[products.p]\nname = "P"\n[products.p.settings.lang]\ntype = "enum"\n'
            'values = ["English"]\ndefault = "english"',
            "default must be written as 'English'",
        ),
    ],
)
def test_malformed_catalogue_is_refused_with_a_message_naming_the_entry(
    text: str, names: str
) -> None:
    with pytest.raises(CatalogueError) as error:
        parse_catalogue(text, origin="test.toml")
    assert str(error.value).startswith("test.toml")
    assert names in str(error.value)
