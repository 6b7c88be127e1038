"""QuickBooks field paths and the catalog's path patterns (the syntax `qbo_catalog.json` documents).

A path names a value inside a QuickBooks record: names joined by dots, `BillAddr.City`. A name may
select items of a list by one of their members, `Line[DetailType=SalesItemLineDetail].Amount` or
`CustomField[Name=Crew #].StringValue`: the member name is a name, the value is any text without
brackets, compared exactly. A pattern is written the same way; a selector value `*` in a pattern
stands for any value. Nothing else is special.

The Apex class QBCatalogPath implements the same rules; tests/fixtures/catalog/path_cases.json holds
the cases both must pass.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Step", "is_path", "path_matches", "steps"]

ANY_VALUE = "*"

_NAME = r"[A-Za-z][A-Za-z0-9]*"
_SEGMENT = rf"{_NAME}(?:\[{_NAME}=[^\[\]]+\])?"
_PATH = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")


def is_path(text: str) -> bool:
    """True when `text` is a well-formed path (or pattern)."""
    return isinstance(text, str) and _PATH.fullmatch(text) is not None


def _segments(path: str) -> list[str]:
    """The dot-separated segments of a well-formed `path`; a dot inside brackets is a value's."""
    parts, start, in_selector = [], 0, False
    for index, char in enumerate(path):
        if char == "[":
            in_selector = True
        elif char == "]":
            in_selector = False
        elif char == "." and not in_selector:
            parts.append(path[start:index])
            start = index + 1
    parts.append(path[start:])
    return parts


class Step(NamedTuple):
    """One segment of a path: a member name and, when it selects list items, `key=value`."""

    name: str
    key: str | None = None
    value: str | None = None


_STEP = re.compile(rf"({_NAME})(?:\[({_NAME})=([^\[\]]+)\])?")


def steps(path: str) -> list[Step]:
    """The segments of a well-formed `path`: `CustomField[Name=Crew #].StringValue` →
    [Step('CustomField', 'Name', 'Crew #'), Step('StringValue')]."""
    if not is_path(path):
        raise ValueError(f"not a field path: {path!r}")
    return [Step(*_STEP.fullmatch(segment).groups()) for segment in _segments(path)]


def path_matches(pattern: str, path: str) -> bool:
    """True when the well-formed `path` is one of the paths `pattern` describes."""
    if not (is_path(pattern) and is_path(path)):
        return False
    wanted, given = _segments(pattern), _segments(path)
    if len(wanted) != len(given):
        return False
    return all(_segment_matches(w, g) for w, g in zip(wanted, given, strict=True))


def _segment_matches(wanted: str, given: str) -> bool:
    if wanted == given:
        return True
    # `Name[Key=*]` matches `Name[Key=<any value>]`: all up to the value must be the same.
    wildcard = f"={ANY_VALUE}]"
    return wanted.endswith(wildcard) and given.startswith(wanted[: -len(wildcard) + 1])
