"""The product catalogue (R16): products, their settings, and what a valid setting value is.

The catalogue is data (`catalogue.toml`); this module loads it, refuses a malformed one
with a message naming the entry, and checks setting values for the API, the pages and the
sync alike.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from rollbook.domain.values import ValueProblem

SettingType = Literal["enum", "int", "bool", "string"]
SETTING_TYPES: tuple[SettingType, ...] = ("enum", "int", "bool", "string")
SettingValue = str | int | bool

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One per-student setting of a product."""

    code: str
    label: str
    type: SettingType
    default: SettingValue
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 255

    def parse(self, raw: Any) -> SettingValue:
        """The stored form of a value, from JSON or from a CSV cell; ValueProblem if not allowed."""
        if self.type == "enum":
            return self._enum(raw)
        if self.type == "int":
            return self._int(raw)
        if self.type == "bool":
            return self._bool(raw)
        return self._string(raw)

    def _enum(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValueProblem(f"must be one of {', '.join(self.values)}")
        wanted = raw.strip().casefold()
        for value in self.values:
            if value.casefold() == wanted:
                return value
        raise ValueProblem(f"{raw!r} is not one of {', '.join(self.values)}")

    def _int(self, raw: Any) -> int:
        if isinstance(raw, bool):
            raise ValueProblem("must be a whole number")
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", raw):
            raw = int(raw)
        if not isinstance(raw, int):
            raise ValueProblem("must be a whole number")
        if (self.minimum is not None and raw < self.minimum) or (
            self.maximum is not None and raw > self.maximum
        ):
            raise ValueProblem(f"must be between {self.minimum} and {self.maximum}")
        return raw

    def _bool(self, raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            word = raw.strip().casefold()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        raise ValueProblem("must be true or false")

    def _string(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise ValueProblem("must be a string")
        text = raw.strip()
        if len(text) > self.max_length:
            raise ValueProblem(f"must be at most {self.max_length} characters")
        return text

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "label": self.label, "type": self.type}
        out["default"] = self.default
        if self.type == "enum":
            out["values"] = list(self.values)
        if self.type == "int":
            out["min"], out["max"] = self.minimum, self.maximum
        if self.type == "string":
            out["max_length"] = self.max_length
        return out


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    settings: dict[str, Setting]

    def describe(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "settings": [s.describe() for s in self.settings.values()],
        }


@dataclass(frozen=True, slots=True)
class Catalogue:
    products: dict[str, Product]

    def product(self, code: str) -> Product | None:
        return self.products.get(code)

    def setting(self, product: str, setting: str) -> Setting | None:
        found = self.products.get(product)
        return found.settings.get(setting) if found else None

    def parse_value(self, product: str, setting: str, raw: Any) -> SettingValue:
        """R16: a setting value the catalogue allows, or ValueProblem naming what is allowed."""
        found = self.setting(product, setting)
        if found is None:
            if product not in self.products:
                raise ValueProblem(f"unknown product {product!r}")
            raise ValueProblem(f"{product} has no setting {setting!r}")
        return found.parse(raw)


def _setting(where: str, code: str, raw: dict[str, Any]) -> Setting:
    kind = raw.get("type")
    if kind not in SETTING_TYPES:
        raise CatalogueError(f"{where}: type must be one of {', '.join(SETTING_TYPES)}")
    known = {"label", "type", "default", "values", "min", "max", "max_length"}
    if unknown := set(raw) - known:
        raise CatalogueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    values = tuple(raw.get("values", ()))
    if kind == "enum" and (not values or len({v.casefold() for v in values}) != len(values)):
        raise CatalogueError(f"{where}: an enum needs distinct values")
    if "default" not in raw:
        raise CatalogueError(f"{where}: needs a default")
    setting = Setting(
        code=code,
        label=str(raw.get("label", code)),
        type=kind,
        default=raw["default"],
        values=values,
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        max_length=int(raw.get("max_length", 255)),
    )
    if kind == "int" and (setting.minimum is None or setting.maximum is None):
        raise CatalogueError(f"{where}: an int needs min and max")
    try:
        parsed = setting.parse(raw["default"])
    except ValueProblem as problem:
        raise CatalogueError(f"{where}: default {problem}") from None
    if parsed != raw["default"] or type(parsed) is not type(raw["default"]):
        raise CatalogueError(f"{where}: default must be written as {parsed!r}")
    return setting


def parse_catalogue(text: str, *, origin: str = "catalogue") -> Catalogue:
    """Build and validate a catalogue from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{origin}: not valid TOML: {error}") from None
    raw_products = data.get("products")
    if not isinstance(raw_products, dict) or not raw_products:
        raise CatalogueError(f"{origin}: needs a [products.<code>] table")
    products: dict[str, Product] = {}
    for code, raw in raw_products.items():
        where = f"{origin}: products.{code}"
        if not _CODE.match(code):
            raise CatalogueError(f"{where}: a code is lowercase letters, digits and _")
        if not isinstance(raw, dict) or not raw.get("name"):
            raise CatalogueError(f"{where}: needs a name")
        settings = {}
        for s_code, s_raw in (raw.get("settings") or {}).items():
            s_where = f"{where}.settings.{s_code}"
            if not _CODE.match(s_code) or not isinstance(s_raw, dict):
                raise CatalogueError(f"{s_where}: a setting is a table with a lowercase code")
            settings[s_code] = _setting(s_where, s_code, s_raw)
        products[code] = Product(code=code, name=str(raw["name"]), settings=settings)
    return Catalogue(products=products)


@cache
def load_catalogue(path: str | None = None) -> Catalogue:
    """The catalogue in use: the bundled one, or the file at `path`."""
    if path:
        return parse_catalogue(Path(path).read_text(encoding="utf-8"), origin=path)
    text = resources.files("rollbook").joinpath("catalogue.toml").read_text(encoding="utf-8")
    return parse_catalogue(text, origin="catalogue.toml")
