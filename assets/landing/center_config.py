"""Load and validate a center YAML (data/centers/<center_id>.yaml) into typed config objects.

The YAML is the single description of a center's files: the landing readers and the demo-cohort writers both
work from these objects. Validation is strict (unknown keys, unknown fields, missing required fields) so that a
typo in a YAML fails at load time with the file and key named, not as silently missing data.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from assets.landing.contract import ANALYTE_UNITS, FREE_TEXT_FIELDS, REQUIRED_FIELDS, TABLE_FIELDS, WIDE_LAB_ID_FIELDS

REPO_ROOT = Path(__file__).resolve().parents[2]
STUDIES = ("multicenter", "case_series")
FORMATS = ("csv", "xlsx")
ENCODINGS = ("utf-8", "gbk")
LAYOUTS = ("long", "wide")
# shrink_limit_pct: a re-delivery with more than this share fewer rows than the current version is held.
SETTING_DEFAULTS = {"format": "csv", "encoding": "utf-8", "delimiter": ",", "date_format": "%Y-%m-%d",
                    "decimal": ".", "shrink_limit_pct": 10}
TABLE_KEYS = {"file", "sheet", "layout", "columns", "analytes", "codes", "units", "unit_aliases", "detection_limits",
              "render", "release", "retired", "reviewed_safe", *SETTING_DEFAULTS}
UNIT_FIELDS = ("unit", "dose_unit")  # coded fields that hold a unit: unit_aliases apply to them too
UNIT_CONVERSIONS = REPO_ROOT / "dbt_project" / "seeds" / "unit_conversions.csv"
RENDER_KEYS = {"below_limit", "floor_as_number", "zero_as"}


class ConfigError(ValueError):
    """A center YAML that does not describe its files validly; its message starts with the file's path."""


@dataclass(frozen=True)
class Render:
    """How the center's system prints special values. Used by the demo writer; the reader keeps values verbatim.

    below_limit: field or analyte -> assay sensitivity; smaller values print as "<limit" (e.g. MRD "<0.01").
    floor_as_number: analytes whose values under the kit's detection limit print as the limit itself (others
        print "<limit").
    zero_as: analyte -> text printed for a zero value (e.g. "ND" for undetectable B cells).
    """

    below_limit: dict[str, float] = field(default_factory=dict)
    floor_as_number: frozenset[str] = frozenset()
    zero_as: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TableConfig:
    name: str  # contract table
    file: str  # file name in the center's folder (xlsx: the workbook)
    format: str
    encoding: str
    delimiter: str
    date_format: str
    decimal: str
    shrink_limit_pct: float
    sheet: str | None  # xlsx only
    layout: str  # long | wide (labs only)
    columns: dict[str, str]  # contract field -> delivered header, in the file's column order
    analytes: dict[str, str]  # wide labs: analyte code -> delivered header
    codes: dict[str, dict[str, str]]  # field -> {delivered code: contract code}
    units: dict[str, str]  # measure (analyte or field) -> unit of the delivered number
    # The center's spelling of a unit -> the spelling seeds/unit_conversions.csv knows (`10^3/uL: x10^9/L`),
    # for its unit columns and its `units:`.
    unit_aliases: dict[str, str]
    release: tuple[str, ...]  # SHA-256 prefixes of held versions the center confirmed: they load as delivered
    retired: frozenset[str]  # mapped fields (or wide-lab analytes) the center no longer delivers
    # Free-text fields (contract.FREE_TEXT_FIELDS) the center reviewed as free of identifiers: the analyst
    # snapshot publishes them; every other free-text field is withheld from it.
    reviewed_safe: frozenset[str]
    detection_limits: dict[str, float]  # analyte -> the kit's limit of detection, canonical unit
    render: Render

    def inverse_codes(self, field_name: str) -> dict[str, str]:
        """Contract code -> delivered code; where several delivered codes map to one, the first listed wins."""
        inverse: dict[str, str] = {}
        for delivered, code in self.codes.get(field_name, {}).items():
            inverse.setdefault(code, delivered)
        return inverse


@dataclass(frozen=True)
class CenterConfig:
    center_id: str
    center_name: str
    study: str
    tables: dict[str, TableConfig]  # in the contract's table order
    path: Path

    def table(self, name: str) -> TableConfig:
        if name not in self.tables:
            raise KeyError(f"center {self.center_id} delivers no table {name!r} ({self.path})")
        return self.tables[name]


def centers_dir() -> Path:
    return Path(os.environ.get("BLINA_CENTERS_DIR", REPO_ROOT / "data" / "centers"))


def load_centers(directory: Path | None = None, errors: list[ConfigError] | None = None) -> dict[str, CenterConfig]:
    """Every center YAML in the directory, by center_id, sorted. With `errors`, an invalid YAML is appended to
    it and skipped (the run goes on for the other centers); without, it raises."""
    centers = {}
    for path in sorted((directory or centers_dir()).glob("*.yaml")):
        try:
            center = load_center(path)
        except ConfigError as error:
            if errors is None:
                raise
            errors.append(error)
            continue
        centers[center.center_id] = center
    return centers


def load_center(path: Path) -> CenterConfig:
    path = Path(path)
    where = str(path)
    try:
        with path.open(encoding="utf-8") as handle:
            # libyaml's loader: the pure-Python one spent about a second a run on five small files.
            doc = yaml.load(handle, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{where}: not valid YAML ({' '.join(str(error).split())})") from error
    _check_keys(doc, {"center_id", "center_name", "study", "defaults", "tables"}, where)
    center_id = _require(doc, "center_id", where)
    if not re.fullmatch(r"[a-z0-9_]+", str(center_id)) or center_id != path.stem:
        raise ConfigError(f"{where}: center_id {center_id!r} must be [a-z0-9_]+ and match the file name")
    study = _require(doc, "study", where)
    if study not in STUDIES:
        raise ConfigError(f"{where}: study {study!r} is not one of {STUDIES}")
    defaults = {**SETTING_DEFAULTS, **(doc.get("defaults") or {})}
    _check_keys(defaults, set(SETTING_DEFAULTS), f"{where}: defaults")
    tables = _require(doc, "tables", where)
    _check_keys(tables, set(TABLE_FIELDS), f"{where}: tables")
    configs = {name: _table(name, tables[name], defaults, f"{where}: tables.{name}")
               for name in TABLE_FIELDS if name in tables}
    _check_files(configs.values(), where)
    return CenterConfig(center_id=center_id, center_name=str(_require(doc, "center_name", where)), study=study,
                        tables=configs, path=path)


def _table(name: str, doc: dict[str, Any], defaults: dict[str, str], where: str) -> TableConfig:
    _check_keys(doc, TABLE_KEYS, where)
    settings = {key: doc.get(key, default) for key, default in defaults.items()}
    _check_settings(settings, where)
    layout = doc.get("layout", "long")
    if layout not in LAYOUTS or (layout == "wide" and name != "labs"):
        raise ConfigError(f"{where}: layout {layout!r} (wide is for labs only)")
    columns = {str(k): str(v) for k, v in (_require(doc, "columns", where)).items()}
    analytes = {str(k): str(v) for k, v in (doc.get("analytes") or {}).items()}
    _check_fields(name, layout, columns, analytes, where)
    sheet = doc.get("sheet")
    if (sheet is None) == (settings["format"] == "xlsx"):
        raise ConfigError(f"{where}: `sheet` is required for xlsx and not allowed for csv")
    codes = {str(f): {str(k): str(v) for k, v in m.items()} for f, m in (doc.get("codes") or {}).items()}
    _check_subset(codes, set(TABLE_FIELDS[name]), f"{where}: codes")
    units = {str(k): str(v) for k, v in (doc.get("units") or {}).items()}
    _check_subset(units, set(TABLE_FIELDS[name]) | set(ANALYTE_UNITS), f"{where}: units")
    unit_aliases = {str(k): str(v) for k, v in (doc.get("unit_aliases") or {}).items()}
    if unknown := sorted(set(unit_aliases.values()) - known_units()):
        raise ConfigError(f"{where}: unit_aliases map to units the warehouse cannot convert {unknown}"
                          f" (known: {', '.join(sorted(known_units()))})")
    reviewed_safe = frozenset(map(str, doc.get("reviewed_safe") or ()))
    if not reviewed_safe <= FREE_TEXT_FIELDS.get(name, frozenset()):
        raise ConfigError(f"{where}: reviewed_safe lists {sorted(reviewed_safe - FREE_TEXT_FIELDS.get(name, set()))},"
                          f" which are not free-text fields of {name}"
                          f" (those are: {', '.join(sorted(FREE_TEXT_FIELDS.get(name, ()))) or 'none'})")
    limits = {str(k): float(v) for k, v in (doc.get("detection_limits") or {}).items()}
    _check_subset(limits, set(ANALYTE_UNITS), f"{where}: detection_limits")
    if any(limit <= 0 for limit in limits.values()):
        raise ConfigError(f"{where}: detection_limits must be positive")
    return TableConfig(name=name, file=str(_require(doc, "file", where)), sheet=sheet, layout=layout,
                       columns=columns, analytes=analytes, codes=codes, units=units, unit_aliases=unit_aliases,
                       release=tuple(str(prefix).lower() for prefix in doc.get("release") or ()),
                       retired=frozenset(map(str, doc.get("retired") or ())), reviewed_safe=reviewed_safe,
                       detection_limits=limits,
                       render=_render(doc.get("render") or {}, name, f"{where}: render"), **settings)


@cache
def known_units() -> frozenset[str]:
    """The unit spellings seeds/unit_conversions.csv converts from."""
    with UNIT_CONVERSIONS.open(encoding="utf-8") as seed:
        return frozenset(row["from_unit"] for row in csv.DictReader(seed))


def _check_files(tables: Iterable[TableConfig], where: str) -> None:
    """A csv file holds one table; a workbook holds each table in its own sheet."""
    places = [(t.file, t.sheet) for t in tables]
    if len(set(places)) != len(places):
        raise ConfigError(f"{where}: two tables share one csv file or one xlsx sheet")
    formats = {t.file: t.format for t in tables}
    if any(formats[t.file] != t.format for t in tables):
        raise ConfigError(f"{where}: a file is declared both csv and xlsx")


def _check_settings(settings: dict[str, str], where: str) -> None:
    allowed = {"format": FORMATS, "encoding": ENCODINGS, "decimal": (".", ",")}
    for key, values in allowed.items():
        if settings[key] not in values:
            raise ConfigError(f"{where}: {key} {settings[key]!r} is not one of {values}")
    if not isinstance(settings["shrink_limit_pct"], (int, float)) or not 0 <= settings["shrink_limit_pct"] <= 100:
        raise ConfigError(f"{where}: shrink_limit_pct {settings['shrink_limit_pct']!r} must be a number from 0 to 100")
    if len(settings["delimiter"]) != 1 or "%" not in settings["date_format"]:
        raise ConfigError(f"{where}: delimiter must be one character and date_format strftime syntax")


def _check_fields(name: str, layout: str, columns: dict[str, str], analytes: dict[str, str], where: str) -> None:
    fields = set(WIDE_LAB_ID_FIELDS) if layout == "wide" else set(TABLE_FIELDS[name])
    _check_subset(columns, fields, f"{where}: columns")
    required = REQUIRED_FIELDS[name] - ({"analyte", "value"} if layout == "wide" else set())
    if missing := sorted(required - set(columns)):
        raise ConfigError(f"{where}: columns must map the required fields {missing}")
    if layout == "wide" and not analytes:
        raise ConfigError(f"{where}: wide labs need `analytes:` (analyte -> column header)")
    if layout == "long" and analytes:
        raise ConfigError(f"{where}: `analytes:` is for wide labs only")
    _check_subset(analytes, set(ANALYTE_UNITS), f"{where}: analytes")
    headers = [*columns.values(), *analytes.values()]
    if len(set(headers)) != len(headers):
        raise ConfigError(f"{where}: two fields map to the same header")


def _render(doc: dict[str, Any], name: str, where: str) -> Render:
    _check_keys(doc, RENDER_KEYS, where)
    measures = set(TABLE_FIELDS[name]) | set(ANALYTE_UNITS)
    render = Render(below_limit={str(k): float(v) for k, v in (doc.get("below_limit") or {}).items()},
                    floor_as_number=frozenset(map(str, doc.get("floor_as_number") or ())),
                    zero_as={str(k): str(v) for k, v in (doc.get("zero_as") or {}).items()})
    for key in ("below_limit", "zero_as"):
        _check_subset(getattr(render, key), measures, f"{where}.{key}")
    _check_subset(dict.fromkeys(render.floor_as_number), set(ANALYTE_UNITS), f"{where}.floor_as_number")
    return render


def _require(doc: dict[str, Any], key: str, where: str) -> Any:
    if doc.get(key) in (None, "", {}):
        raise ConfigError(f"{where}: `{key}` is required")
    return doc[key]


def _check_keys(doc: Any, allowed: set[str], where: str) -> None:
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(doc).__name__}")
    _check_subset(doc, allowed, where)


def _check_subset(mapping: dict[str, Any], allowed: set[str], where: str) -> None:
    if unknown := sorted(set(mapping) - allowed):
        raise ConfigError(f"{where}: unknown keys {unknown}")
