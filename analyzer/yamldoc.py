"""YAML files people write (taxonomies, manifests), read with the line of every key and value,
so that every problem can be reported where a person will find it, all at once."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

Path_ = tuple[Any, ...]


def located(file: str, line: int | None, key: str, message: str) -> str:
    """``file, line 12, rules[3].weight: message``: a problem as a person can find it."""
    where = f"{file}, line {line}" if line else file
    return f"{where}, {key}: {message}" if key else f"{where}: {message}"


@dataclass
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        return located(self.file, self.line, self.key, self.message)


class Document:
    """One YAML file as Python values, with the line of every value and key, and its problems."""

    def __init__(self, text: str, file: str, problems: list[Problem]):
        self.file = file
        self.problems = problems
        self.lines: dict[Path_, int] = {}
        self.key_lines: dict[Path_, int] = {}
        self._constructor = yaml.SafeLoader("")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            reason = getattr(error, "problem", None) or str(error)
            self.problems.append(Problem(file, line, "", f"not valid YAML: {reason}"))
            self.data: Any = None
            return
        self.data = self._value(node, ()) if node is not None else None

    def _value(self, node: yaml.Node, path: Path_) -> Any:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                self.key_lines[(*path, key)] = key_node.start_mark.line + 1
                if key in out:
                    self.add((*path, key), f'duplicate key "{key}"', key_line=True)
                out[key] = self._value(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node)

    def line(self, path: Path_, *, key_line: bool = False) -> int | None:
        """The line of a value (or of its key); the nearest enclosing value if unknown."""
        if key_line and path in self.key_lines:
            return self.key_lines[path]
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def add(self, path: Path_, message: str, *, key_line: bool = False) -> None:
        self.problems.append(
            Problem(self.file, self.line(path, key_line=key_line), self.describe(path), message)
        )

    def describe(self, path: Path_) -> str:
        """``rules[3] "police-prevention"`` or ``rules[5].weight``: what a person can find."""
        text = ""
        for part in path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        node = self.get(path)
        if isinstance(node, dict) and isinstance(node.get("id"), str) and path:
            text += f' "{node["id"]}"'
        return text

    def get(self, path: Path_) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f'"{value}"'
    return {dict: "a mapping", list: "a list", bool: f"{value}".lower()}.get(
        type(value), repr(value)
    )


def closest(word: str, options: set[str]) -> str | None:
    found = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return found[0] if found else None
