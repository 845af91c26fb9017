"""Taxonomy files: load and validate (every problem at once, with its line), and extends.

A taxonomy is data (``docs/taxonomy-format.md``): categories, phrases, contexts and examples.
This module turns a YAML file into a validated :class:`Taxonomy`; ``classify.py`` runs it and
``taxonomy_check.py`` checks it (``taxonomy check``) and runs its examples (``taxonomy test``).
Validation has two passes, as yamllint's config does: the structure of each file, then the
meaning of the merged result (unknown categories, contexts, patterns that cannot compile).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from .errors import TaxonomyError
from .phrases import normalize_text
from .schema import TEXT_FIELDS
from .yamldoc import Document, Path_, Problem, closest, is_number, type_name

BUNDLED_PACKAGE = "analyzer.taxonomies"
UNCLASSIFIED = "unclassified"
KINDS = ("primary", "multi", "single")
SIDES = ("symptoms", "causes")
#: Longest regular expression a taxonomy may use: keeps compiled automata small.
MAX_PATTERN_LENGTH = 1000

DEFAULT_FIELD_WEIGHTS = {
    "description": 1.0,
    "title": 1.0,
    "program": 0.5,
    "recipient": 0.5,
    "funder": 0.25,
}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
#: Look-around and back-references: not linear-time, and Rust's regex rejects them anyway.
_NON_LINEAR = re.compile(r"\(\?<?[=!]|\\[1-9]|\\k<|\\g[<{0-9]")

TOP_KEYS = {
    "name",
    "version",
    "description",
    "extends",
    "settings",
    "scope",
    "contexts",
    "dimensions",
    "rules",
    "disable",
    "examples",
}
SETTINGS_KEYS = {
    "fields",
    "field_weights",
    "min_score",
    "ambiguity_ratio",
    "split_min_score",
    "split_max_categories",
}
SCOPE_KEYS = {"dimension", "out_of_scope_category", "in_scope_contexts", "min_words", "fields"}
DIMENSION_KEYS = {"kind", "categories", "default", "fields", "label", "description"}
CATEGORY_KEYS = {"id", "label", "definition", "order", "side"}
RULE_KEYS = {
    "id",
    "category",
    "dimension",
    "phrases",
    "patterns",
    "fields",
    "requires",
    "unless",
    "weight",
    "note",
}
#: A tuple, not a set: examples read these in this order whatever the hash seed ("text" and
#: "description" both go to the description, joined in this order).
EXAMPLE_TEXT_KEYS = ("text", *TEXT_FIELDS)
EXAMPLE_OTHER_KEYS = {"shares", "note"}


# --- The validated taxonomy -------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    id: str
    dimension: str
    label: str
    definition: str = ""
    order: int | None = None
    side: str | None = None


@dataclass
class Dimension:
    id: str
    kind: str
    categories: dict[str, Category] = field(default_factory=dict)
    default: str | None = None
    fields: tuple[str, ...] | None = None
    label: str | None = None
    #: Where the dimension was first declared (for messages).
    file: str = ""
    line: int | None = None

    def sort_key(self, category: str) -> tuple[int, int]:
        """Scale order first, then the order categories were declared in."""
        ids = list(self.categories)
        position = ids.index(category) if category in ids else len(ids)
        cat = self.categories.get(category)
        order = cat.order if cat is not None and cat.order is not None else 10**6 + position
        return (order, position)


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    dimension: str
    phrases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    weight: float = 1.0
    note: str | None = None
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Example:
    #: Text per field (``text:`` is put in ``description``).
    fields: dict[str, str]
    #: Expected category (primary / single) or categories (multi) per dimension.
    expected: dict[str, Any]
    #: Expected exact shares of the primary dimension, if given.
    shares: dict[str, Decimal] | None
    file: str = ""
    line: int = 0
    note: str | None = None

    def label(self) -> str:
        text = " / ".join(v for v in self.fields.values() if v)
        return text if len(text) <= 70 else text[:67] + "..."


@dataclass
class Settings:
    fields: tuple[str, ...] = TEXT_FIELDS
    field_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FIELD_WEIGHTS))
    min_score: float = 1.0
    ambiguity_ratio: float = 0.75
    split_min_score: float = 2.0
    split_max_categories: int = 3


@dataclass
class Scope:
    dimension: str
    out_of_scope_category: str
    in_scope_contexts: tuple[str, ...]
    min_words: int = 6
    fields: tuple[str, ...] | None = None


@dataclass
class Taxonomy:
    name: str
    version: str
    description: str
    #: Display name of the file (the bundled file name, or the path as given).
    source: str
    #: sha256 of the bytes of every file in the extends chain, parent first.
    sha256: str
    settings: Settings
    scope: Scope | None
    contexts: dict[str, tuple[str, ...]]
    dimensions: dict[str, Dimension]
    rules: list[Rule]
    examples: list[Example]
    #: Every file read, parent first.
    files: list[str] = field(default_factory=list)

    @property
    def primary(self) -> Dimension:
        """The one dimension of kind ``primary`` (its decision is the grant's ``approach``)."""
        return next(d for d in self.dimensions.values() if d.kind == "primary")

    def rule_fields(self, rule: Rule) -> tuple[str, ...]:
        return rule.fields or self.dimensions[rule.dimension].fields or self.settings.fields

    def scope_fields(self) -> tuple[str, ...]:
        if self.scope is not None and self.scope.fields:
            return self.scope.fields
        return self.settings.fields

    def categories(self, dimension: str) -> list[str]:
        """Category ids of a dimension in scale order (with ``unclassified`` for primary)."""
        dim = self.dimensions[dimension]
        ids = sorted(dim.categories, key=dim.sort_key)
        return [*ids, UNCLASSIFIED] if dim.kind == "primary" else ids


# --- Pass 1: the structure of one file ---------------------------------------------------------


@dataclass
class _Layer:
    """What one file says, structurally valid; merged with its parents in pass 2."""

    file: str
    text: str
    name: str | None = None
    version: str | None = None
    description: str | None = None
    extends: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)
    contexts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dimensions: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw_rules: list[tuple[dict, Path_]] = field(default_factory=list)
    disable: list[tuple[str, int | None]] = field(default_factory=list)
    examples: list[tuple[dict, Path_]] = field(default_factory=list)
    doc: Document | None = None


class _Structure:
    """Checks one document's structure; every problem is recorded, nothing is raised."""

    def __init__(self, doc: Document):
        self.doc = doc

    def mapping(
        self, path: Path_, allowed: set[str], required: tuple[str, ...] = ()
    ) -> dict | None:
        value = self.doc.get(path)
        if not isinstance(value, dict):
            self.doc.add(path, f"expected a mapping, got {type_name(value)}")
            return None
        for key in value:
            if key not in allowed:
                close = closest(key, allowed)
                hint = f' (did you mean "{close}"?)' if close else ""
                self.doc.add((*path, key), f'unknown key "{key}"{hint}', key_line=True)
        for key in required:
            if key not in value:
                self.doc.add(path, f'missing required key "{key}"')
        return value

    def string(self, path: Path_, *, required: bool = False) -> str | None:
        value = self.doc.get(path)
        if value is None:
            if required:
                self.doc.add(path, "expected a text, got nothing")
            return None
        if not isinstance(value, str):
            quote = ' (put it in quotes: "1.2")' if is_number(value) else ""
            self.doc.add(path, f"expected a text, got {type_name(value)}{quote}")
            return None
        return value

    def identifier(self, path: Path_) -> str | None:
        value = self.string(path, required=True)
        if value is not None and not _ID.match(value):
            self.doc.add(path, f'"{value}" is not a valid id (letters, digits, "-" and "_")')
            return None
        return value

    def number(self, path: Path_, *, minimum: float | None = None, maximum: float | None = None):
        value = self.doc.get(path)
        if not is_number(value):
            self.doc.add(path, f"expected a number, got {type_name(value)}")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            low = "" if minimum is None else f"at least {minimum}"
            high = "" if maximum is None else f"at most {maximum}"
            self.doc.add(
                path, f"expected a number {' and '.join(p for p in (low, high) if p)}, got {value}"
            )
            return None
        return value

    def integer(self, path: Path_, *, minimum: int) -> int | None:
        value = self.doc.get(path)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.doc.add(
                path, f"expected a whole number of at least {minimum}, got {type_name(value)}"
            )
            return None
        return value

    def text_list(self, path: Path_) -> tuple[str, ...]:
        """A list of texts; a single text is accepted as a list of one; whole numbers become
        text. A decimal number is refused: YAML reads 16.320 as 16.32, so a programme number
        written without quotes would silently never match."""
        value = self.doc.get(path)
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            self.doc.add(path, f"expected a list of texts, got {type_name(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            if isinstance(item, float):
                self.doc.add(
                    (*path, i),
                    f"{item} was read as a number and may have lost digits: put it in quotes,"
                    ' e.g. "16.320"',
                )
            elif isinstance(item, str) or is_number(item):
                out.append(str(item))
            else:
                self.doc.add((*path, i), f"expected a text, got {type_name(item)}")
        return tuple(out)

    def fields(self, path: Path_) -> tuple[str, ...] | None:
        names = self.text_list(path)
        good = []
        for i, name in enumerate(names):
            if name in TEXT_FIELDS:
                good.append(name)
            else:
                self.doc.add(
                    (*path, i), f'unknown field "{name}" (known: {", ".join(TEXT_FIELDS)})'
                )
        if not names:
            self.doc.add(path, "expected at least one field")
            return None
        return tuple(good)


def _read_layer(text: str, file: str, problems: list[Problem]) -> _Layer:
    doc = Document(text, file, problems)
    layer = _Layer(file=file, text=text, doc=doc)
    if doc.data is None:
        if not any(p.file == file for p in problems):
            problems.append(Problem(file, None, "", "the file is empty"))
        return layer
    s = _Structure(doc)
    top = s.mapping((), TOP_KEYS, required=("name", "version", "description", "dimensions"))
    if top is None:
        return layer
    if "name" in top:
        layer.name = s.identifier(("name",))
    if "version" in top:
        layer.version = s.string(("version",), required=True)
    if "description" in top:
        layer.description = s.string(("description",), required=True)
    if "extends" in top:
        layer.extends = s.string(("extends",), required=True)
    if "settings" in top:
        layer.settings = _read_settings(s)
    if "scope" in top:
        layer.scope = _read_scope(s)
    if "contexts" in top:
        layer.contexts = _read_contexts(s)
    if "dimensions" in top:
        layer.dimensions = _read_dimensions(s)
    if "rules" in top:
        layer.raw_rules = _list_items(s, ("rules",))
    if "disable" in top:
        for i, rule_id in enumerate(s.text_list(("disable",))):
            layer.disable.append((rule_id, doc.line(("disable", i))))
    if "examples" in top:
        layer.examples = _list_items(s, ("examples",))
    return layer


def _list_items(s: _Structure, path: Path_) -> list[tuple[dict, Path_]]:
    value = s.doc.get(path)
    if value is None:
        return []
    if not isinstance(value, list):
        s.doc.add(path, f"expected a list, got {type_name(value)}")
        return []
    items = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            items.append((item, (*path, i)))
        else:
            s.doc.add((*path, i), f"expected a mapping, got {type_name(item)}")
    return items


def _read_settings(s: _Structure) -> dict[str, Any]:
    raw = s.mapping(("settings",), SETTINGS_KEYS)
    if raw is None:
        return {}
    out: dict[str, Any] = {}
    p = ("settings",)
    if "fields" in raw and (fields := s.fields((*p, "fields"))):
        out["fields"] = fields
    if "field_weights" in raw:
        weights = s.mapping((*p, "field_weights"), set(TEXT_FIELDS))
        if weights is not None:
            out["field_weights"] = {
                name: value
                for name in weights
                if name in TEXT_FIELDS
                and (value := s.number((*p, "field_weights", name), minimum=0)) is not None
            }
    for key, maximum in (("min_score", None), ("ambiguity_ratio", 1), ("split_min_score", None)):
        if key in raw and (value := s.number((*p, key), minimum=0, maximum=maximum)) is not None:
            out[key] = float(value)
    if "split_max_categories" in raw:
        value = s.integer((*p, "split_max_categories"), minimum=1)
        if value is not None:
            out["split_max_categories"] = value
    return out


def _read_scope(s: _Structure) -> dict[str, Any]:
    raw = s.mapping(("scope",), SCOPE_KEYS)
    if raw is None:
        return {}
    out: dict[str, Any] = {}
    for key in ("dimension", "out_of_scope_category"):
        if key in raw and (value := s.string(("scope", key), required=True)):
            out[key] = value
    if "in_scope_contexts" in raw:
        out["in_scope_contexts"] = s.text_list(("scope", "in_scope_contexts"))
    if "min_words" in raw and (value := s.integer(("scope", "min_words"), minimum=0)) is not None:
        out["min_words"] = value
    if "fields" in raw and (fields := s.fields(("scope", "fields"))):
        out["fields"] = fields
    return out


def _read_contexts(s: _Structure) -> dict[str, tuple[str, ...]]:
    raw = s.mapping(("contexts",), set(s.doc.get(("contexts",)) or {}))
    if raw is None:
        return {}
    out = {}
    for name in raw:
        if not _ID.match(name):
            s.doc.add(("contexts", name), f'"{name}" is not a valid context name', key_line=True)
            continue
        phrases = s.text_list(("contexts", name))
        for i, phrase in enumerate(phrases):
            if not normalize_text(phrase):
                s.doc.add(("contexts", name, i), f'phrase "{phrase}" has no letters or digits')
        out[name] = phrases
    return out


def _read_dimensions(s: _Structure) -> dict[str, dict[str, Any]]:
    raw = s.mapping(("dimensions",), set(s.doc.get(("dimensions",)) or {}))
    if raw is None:
        return {}
    out: dict[str, dict[str, Any]] = {}
    for dim_id in raw:
        path = ("dimensions", dim_id)
        if not _ID.match(dim_id):
            s.doc.add(path, f'"{dim_id}" is not a valid dimension id', key_line=True)
            continue
        spec = s.mapping(path, DIMENSION_KEYS)
        if spec is None:
            continue
        dim: dict[str, Any] = {"line": s.doc.line(path, key_line=True), "categories": []}
        if "kind" in spec:
            kind = s.string((*path, "kind"), required=True)
            if kind is not None and kind not in KINDS:
                s.doc.add((*path, "kind"), f'unknown kind "{kind}" (known: {", ".join(KINDS)})')
            elif kind is not None:
                dim["kind"] = kind
        if "default" in spec:
            dim["default"] = s.string((*path, "default"), required=True)
        if "fields" in spec:
            dim["fields"] = s.fields((*path, "fields"))
        if "label" in spec:
            dim["label"] = s.string((*path, "label"))
        for item, item_path in _list_items(s, (*path, "categories")):
            category = _read_category(s, item, item_path, dim_id)
            if category is not None:
                dim["categories"].append((category, s.doc.line(item_path)))
        out[dim_id] = dim
    return out


def _read_category(s: _Structure, item: dict, path: Path_, dimension: str) -> Category | None:
    s.mapping(path, CATEGORY_KEYS, required=("id", "label"))
    cat_id = s.identifier((*path, "id")) if "id" in item else None
    label = s.string((*path, "label")) if "label" in item else None
    definition = s.string((*path, "definition")) if "definition" in item else ""
    order = s.number((*path, "order")) if "order" in item else None
    side = s.string((*path, "side")) if "side" in item else None
    if side is not None and side not in SIDES:
        s.doc.add((*path, "side"), f'unknown side "{side}" (known: {", ".join(SIDES)})')
        side = None
    if cat_id is None or label is None:
        return None
    return Category(cat_id, dimension, label, definition or "", order, side)


def _read_rule(s: _Structure, item: dict, path: Path_) -> dict[str, Any] | None:
    """Structure of one rule; the category is resolved after the merge."""
    s.mapping(path, RULE_KEYS, required=("id", "category"))
    rule_id = s.identifier((*path, "id")) if "id" in item else None
    category = s.string((*path, "category"), required=True) if "category" in item else None
    out: dict[str, Any] = {"id": rule_id, "category": category, "path": path}
    out["dimension"] = s.string((*path, "dimension")) if "dimension" in item else None
    out["phrases"] = s.text_list((*path, "phrases")) if "phrases" in item else ()
    for i, phrase in enumerate(out["phrases"]):
        if not normalize_text(phrase):
            s.doc.add((*path, "phrases", i), f'phrase "{phrase}" has no letters or digits')
    out["patterns"] = s.text_list((*path, "patterns")) if "patterns" in item else ()
    for i, pattern in enumerate(out["patterns"]):
        problem = pattern_problem(pattern)
        if problem:
            s.doc.add((*path, "patterns", i), problem)
    if not out["phrases"] and not out["patterns"]:
        s.doc.add(path, "a rule needs at least one phrase or pattern")
    out["fields"] = (s.fields((*path, "fields")) or ()) if "fields" in item else ()
    out["requires"] = s.text_list((*path, "requires")) if "requires" in item else ()
    out["unless"] = s.text_list((*path, "unless")) if "unless" in item else ()
    weight = s.number((*path, "weight"), minimum=0) if "weight" in item else 1.0
    out["weight"] = float(weight) if weight is not None else 1.0
    out["note"] = s.string((*path, "note")) if "note" in item else None
    return out if rule_id and category else None


def pattern_problem(pattern: str) -> str | None:
    """Why a regular expression cannot be used, or None. Linear time is the rule."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"pattern is longer than {MAX_PATTERN_LENGTH} characters; split it or use phrases"
    if _NON_LINEAR.search(pattern):
        return (
            f"pattern {pattern!r} uses look-around or a back-reference, which cannot run in "
            "linear time; use `unless:`/`requires:` contexts instead"
        )
    try:
        matches_empty = pl.select(pl.lit("").str.contains(f"(?i){pattern}")).item()
    except pl.exceptions.PolarsError as error:
        reason = str(error).split("\n\nThis error occurred")[0].strip()
        return f"pattern {pattern!r} is not a valid regular expression: {reason}"
    if matches_empty:
        return f"pattern {pattern!r} matches empty text, so it would match every grant"
    return None


# --- Resolution of names and the extends chain -------------------------------------------------


def bundled_taxonomies() -> list[str]:
    """Names of the taxonomies shipped with the package (``taxonomies/<name>.yaml``)."""
    folder = resources.files(BUNDLED_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _is_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.endswith((".yaml", ".yml"))


def _read_source(name: str, relative_to: Path | None = None) -> tuple[str, str, str]:
    """(display name, identity for cycle detection, text) of a bundled name or a path."""
    if _is_path(name):
        path = Path(name)
        if not path.is_absolute() and relative_to is not None and not path.exists():
            path = relative_to / path
        if not path.is_file():
            raise TaxonomyError(
                f"taxonomy file not found: {name}",
                hint=f"bundled taxonomies: {', '.join(bundled_taxonomies())}",
            )
        return name, str(path.resolve()), path.read_text(encoding="utf-8")
    resource = resources.files(BUNDLED_PACKAGE).joinpath(f"{name}.yaml")
    if not resource.is_file():
        raise TaxonomyError(
            f'no bundled taxonomy named "{name}"',
            hint=f"bundled: {', '.join(bundled_taxonomies())}; a path must end in .yaml or "
            "contain a '/'",
        )
    return f"{name}.yaml", f"bundled:{name}", resource.read_text(encoding="utf-8")


def _read_chain(first: tuple[str, str, str], problems: list[Problem]) -> list[_Layer]:
    """The file (display name, identity, text) and every file it extends, parent first."""
    chain: list[_Layer] = []
    seen: set[str] = set()
    display, identity, text = first
    while True:
        if identity in seen:
            through = " -> ".join(layer.file for layer in chain)
            raise TaxonomyError(f"taxonomy {display} extends itself (through {through})")
        seen.add(identity)
        layer = _read_layer(text, display, problems)
        chain.append(layer)
        if layer.extends is None:
            return list(reversed(chain))
        relative_to = None if identity.startswith(("bundled:", "text:")) else Path(identity).parent
        display, identity, text = _read_source(layer.extends, relative_to)


# --- Pass 2: merge and meaning ------------------------------------------------------------------


def load_taxonomy(taxonomy: str | Path | Taxonomy = "csec") -> Taxonomy:
    """Load, merge (``extends``) and validate a taxonomy: a bundled name or a path.

    A ``Path``, or a text containing a '/' or ending in .yaml, is a file; any other text is
    the name of a bundled taxonomy. Raises TaxonomyError listing every problem, each with its
    file, line and key.
    """
    if isinstance(taxonomy, Taxonomy):
        return taxonomy
    name = str(taxonomy)
    if isinstance(taxonomy, Path) and not _is_path(name):
        name = f"./{name}"
    return _load(_read_source(name), name)


def taxonomy_from_text(text: str, *, source: str = "inline.yaml") -> Taxonomy:
    """A taxonomy from YAML text (tests, notebooks); ``extends`` paths are relative to the
    working directory."""
    return _load((source, f"text:{source}", text), source)


def _load(first: tuple[str, str, str], name: str) -> Taxonomy:
    problems: list[Problem] = []
    chain = _read_chain(first, problems)
    result = _merge(chain, problems)
    if problems:
        problems.sort(key=lambda p: (p.file != chain[-1].file, p.file, p.line or 0))
        top = chain[-1].file if chain else name
        count = len(problems)
        raise TaxonomyError(
            f"invalid taxonomy {top}: {count} problem{'s' if count != 1 else ''}",
            problems=[str(p) for p in problems],
            hint="see docs/taxonomy-format.md",
        )
    assert result is not None
    return result


def _merge(chain: list[_Layer], problems: list[Problem]) -> Taxonomy | None:
    settings: dict[str, Any] = {}
    field_weights = dict(DEFAULT_FIELD_WEIGHTS)
    scope: dict[str, Any] = {}
    contexts: dict[str, tuple[str, ...]] = {}
    dimensions: dict[str, Dimension] = {}
    raw_rules: dict[str, tuple[dict, _Layer]] = {}
    examples: list[tuple[dict, Path_, _Layer]] = []
    scope_layer: _Layer | None = None

    for layer in chain:
        settings.update({k: v for k, v in layer.settings.items() if k != "field_weights"})
        field_weights.update(layer.settings.get("field_weights", {}))
        if layer.scope:
            scope.update(layer.scope)
            scope_layer = layer
        contexts.update(layer.contexts)
        _merge_dimensions(dimensions, layer, problems)
        seen_here: set[str] = set()
        for item, path in layer.raw_rules:
            rule = _read_rule(_Structure(layer.doc), item, path)
            if rule is None:
                continue
            if rule["id"] in seen_here:
                layer.doc.add(path, f'duplicate rule id "{rule["id"]}"')
                continue
            seen_here.add(rule["id"])
            raw_rules[rule["id"]] = (rule, layer)  # same id as an inherited rule replaces it
        for rule_id, line in layer.disable:
            if raw_rules.pop(rule_id, None) is None:
                problems.append(
                    Problem(
                        layer.file, line, "disable", f'no inherited rule "{rule_id}" to disable'
                    )
                )
        examples.extend((item, path, layer) for item, path in layer.examples)

    top = chain[-1]
    for dim in dimensions.values():
        if dim.kind not in KINDS:
            problems.append(
                Problem(dim.file, dim.line, f"dimensions.{dim.id}", 'missing key "kind"')
            )
    primaries = [d.id for d in dimensions.values() if d.kind == "primary"]
    if len(primaries) != 1 and top.doc is not None and top.doc.data is not None:
        found = ", ".join(primaries) or "none"
        top.doc.add(
            ("dimensions",), f"expected exactly one dimension of kind primary, found {found}"
        )
    _check_dimensions(dimensions, problems)

    rules = [
        rule
        for raw, layer in raw_rules.values()
        if (rule := _resolve_rule(raw, layer, dimensions, contexts)) is not None
    ]
    settings_obj = Settings(field_weights=field_weights, **settings)
    scope_obj = (
        _resolve_scope(scope, scope_layer, dimensions, contexts, primaries) if scope else None
    )
    example_objs = [
        ex for item, path, layer in examples if (ex := _read_example(item, path, layer, dimensions))
    ]
    if problems or not top.name:
        return None
    return Taxonomy(
        name=top.name,
        version=top.version or "",
        description=top.description or "",
        source=top.file,
        sha256=hashlib.sha256("\0".join(layer.text for layer in chain).encode()).hexdigest(),
        settings=settings_obj,
        scope=scope_obj,
        contexts=contexts,
        dimensions=dimensions,
        rules=rules,
        examples=example_objs,
        files=[layer.file for layer in chain],
    )


def _merge_dimensions(dimensions: dict[str, Dimension], layer: _Layer, problems: list) -> None:
    for dim_id, spec in layer.dimensions.items():
        dim = dimensions.get(dim_id)
        kind = spec.get("kind")
        if dim is None:
            dim = dimensions[dim_id] = Dimension(
                dim_id, kind or "", file=layer.file, line=spec["line"]
            )
        elif kind and kind != dim.kind and dim.kind:
            problems.append(
                Problem(
                    layer.file,
                    spec["line"],
                    f"dimensions.{dim_id}.kind",
                    f'cannot change kind from "{dim.kind}" to "{kind}" in an extension',
                )
            )
        dim.default = spec.get("default", dim.default)
        dim.fields = spec.get("fields", dim.fields)
        dim.label = spec.get("label", dim.label)
        declared_here: set[str] = set()
        for category, line in spec["categories"]:
            if category.id in declared_here:
                problems.append(
                    Problem(
                        layer.file,
                        line,
                        f"dimensions.{dim_id}.categories",
                        f'duplicate category id "{category.id}"',
                    )
                )
                continue
            declared_here.add(category.id)
            if dim.kind == "primary" and category.id == UNCLASSIFIED:
                problems.append(
                    Problem(
                        layer.file,
                        line,
                        f"dimensions.{dim_id}.categories",
                        f'"{UNCLASSIFIED}" is implicit in a primary dimension; do not declare it',
                    )
                )
                continue
            dim.categories[category.id] = category


def _check_dimensions(dimensions: dict[str, Dimension], problems: list[Problem]) -> None:
    """Every dimension has categories; only a single one has a default, and one it has;
    only a primary one has sides."""
    for dim in dimensions.values():
        if not dim.categories and dim.kind:
            problems.append(
                Problem(dim.file, dim.line, f"dimensions.{dim.id}", "has no categories")
            )
        if dim.kind == "single":
            if dim.default is None:
                problems.append(
                    Problem(
                        dim.file,
                        dim.line,
                        f"dimensions.{dim.id}",
                        'a single dimension needs a "default" category',
                    )
                )
            elif dim.default not in dim.categories:
                problems.append(
                    Problem(
                        dim.file,
                        dim.line,
                        f"dimensions.{dim.id}.default",
                        f'"{dim.default}" is not a category of {dim.id}',
                    )
                )
        elif dim.default is not None and dim.kind in ("primary", "multi"):
            problems.append(
                Problem(
                    dim.file,
                    dim.line,
                    f"dimensions.{dim.id}.default",
                    f"only a single dimension has a default (this one is {dim.kind})",
                )
            )
        if dim.kind != "primary" and any(c.side for c in dim.categories.values()):
            problems.append(
                Problem(
                    dim.file,
                    dim.line,
                    f"dimensions.{dim.id}",
                    "side is only meaningful on a primary dimension",
                )
            )


def _resolve_rule(
    raw: dict, layer: _Layer, dimensions: dict[str, Dimension], contexts
) -> Rule | None:
    doc = layer.doc
    path = raw["path"]
    category = raw["category"]
    owners = [d.id for d in dimensions.values() if category in d.categories]
    dimension = raw["dimension"]
    if dimension is not None:
        if dimension not in dimensions:
            doc.add(
                (*path, "dimension"),
                f'unknown dimension "{dimension}" (known: {", ".join(dimensions)})',
            )
            return None
        if category not in dimensions[dimension].categories:
            doc.add(
                path,
                f'unknown category "{category}" in dimension {dimension} '
                f"(known: {', '.join(dimensions[dimension].categories)})",
            )
            return None
    elif not owners:
        known = ", ".join(c for d in dimensions.values() for c in d.categories)
        close = closest(category, {c for d in dimensions.values() for c in d.categories})
        hint = f'; did you mean "{close}"?' if close else ""
        doc.add(path, f'unknown category "{category}" (known: {known}){hint}')
        return None
    elif len(owners) > 1:
        doc.add(path, f'category "{category}" exists in {" and ".join(owners)}; add dimension:')
        return None
    else:
        dimension = owners[0]
    for key in ("requires", "unless"):
        for i, entry in enumerate(raw[key]):
            if entry not in contexts and not normalize_text(entry):
                doc.add((*path, key, i), f'"{entry}" is neither a context nor a phrase')
    return Rule(
        id=raw["id"],
        category=category,
        dimension=dimension,
        phrases=raw["phrases"],
        patterns=raw["patterns"],
        fields=raw["fields"],
        requires=raw["requires"],
        unless=raw["unless"],
        weight=raw["weight"],
        note=raw["note"],
        file=layer.file,
        line=doc.line(path) or 0,
    )


def _resolve_scope(
    scope: dict, layer: _Layer | None, dimensions, contexts, primaries
) -> Scope | None:
    doc = layer.doc if layer else None
    dimension = scope.get("dimension") or (primaries[0] if len(primaries) == 1 else None)
    ok = True
    if dimension not in dimensions or dimensions[dimension].kind != "primary":
        if doc:
            doc.add(("scope", "dimension"), f'"{dimension}" is not a primary dimension')
        ok = False
    out_category = scope.get("out_of_scope_category", "out-of-scope")
    if ok and out_category not in dimensions[dimension].categories:
        if doc:
            doc.add(
                ("scope", "out_of_scope_category"),
                f'"{out_category}" is not a category of {dimension}',
            )
        ok = False
    in_scope = scope.get("in_scope_contexts", ())
    if not in_scope and doc:
        doc.add(("scope",), 'missing "in_scope_contexts": which contexts put a grant in scope')
        ok = False
    for i, name in enumerate(in_scope):
        if name not in contexts:
            if doc:
                doc.add(
                    ("scope", "in_scope_contexts", i),
                    f'unknown context "{name}" (known: {", ".join(contexts) or "none"})',
                )
            ok = False
    if not ok:
        return None
    return Scope(
        dimension, out_category, tuple(in_scope), scope.get("min_words", 6), scope.get("fields")
    )


def _read_example(item: dict, path: Path_, layer: _Layer, dimensions: dict[str, Dimension]):
    doc = layer.doc
    s = _Structure(doc)
    s.mapping(path, {*EXAMPLE_TEXT_KEYS, *EXAMPLE_OTHER_KEYS, *dimensions})
    fields: dict[str, str] = {}
    for key in EXAMPLE_TEXT_KEYS:
        if key in item and (value := s.string((*path, key), required=True)) is not None:
            target = "description" if key == "text" else key
            fields[target] = (fields.get(target, "") + " " + value).strip()
    if not fields:
        doc.add(
            path, "an example needs text (text, title, description, program, recipient or funder)"
        )
    expected: dict[str, Any] = {}
    ok = True
    for dim_id, dim in dimensions.items():
        if dim_id not in item:
            continue
        known = set(dim.categories) | ({UNCLASSIFIED} if dim.kind == "primary" else set())
        values = (
            s.text_list((*path, dim_id)) if dim.kind == "multi" else (s.string((*path, dim_id)),)
        )
        for value in values:
            if value is not None and value not in known:
                doc.add(
                    (*path, dim_id),
                    f'unknown {dim_id} category "{value}" (known: {", ".join(sorted(known))})',
                )
                ok = False
        expected[dim_id] = list(values) if dim.kind == "multi" else values[0]
    shares = None
    if "shares" in item:
        shares = _read_shares(s, (*path, "shares"), dimensions)
        ok = ok and shares is not None
    if not expected and shares is None:
        doc.add(path, f"an example needs an expected category ({', '.join(dimensions)})")
        ok = False
    if not ok or not fields:
        return None
    return Example(fields, expected, shares, layer.file, doc.line(path) or 0, item.get("note"))


def _read_shares(
    s: _Structure, path: Path_, dimensions: dict[str, Dimension]
) -> dict[str, Decimal] | None:
    raw = s.doc.get(path)
    if not isinstance(raw, dict) or not raw:
        s.doc.add(path, f"expected a mapping of category: share, got {type_name(raw)}")
        return None
    primary = next((d for d in dimensions.values() if d.kind == "primary"), None)
    out: dict[str, Decimal] = {}
    for category, value in raw.items():
        if primary is not None and category not in primary.categories:
            s.doc.add((*path, category), f'unknown category "{category}"', key_line=True)
            return None
        try:
            out[category] = Decimal(str(value))
        except InvalidOperation:
            s.doc.add((*path, category), f"expected a number, got {type_name(value)}")
            return None
    if sum(out.values()) != 1:
        s.doc.add(path, f"shares must sum to exactly 1, got {sum(out.values())}")
        return None
    return out
