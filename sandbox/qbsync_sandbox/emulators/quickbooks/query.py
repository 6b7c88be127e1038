"""QuickBooks' SQL-like query language: parse a statement, then run it over records.

Grammar (developer.intuit.com …/data-queries, research §4):
    SELECT * [, property …] | COUNT(*) FROM Entity [WHERE cond [AND cond]…]
           [ORDERBY | ORDER BY field [ASC|DESC][, …]] [STARTPOSITION n] [MAXRESULTS n]
    cond := field (= | != | < | > | <= | >=) literal | field IN (literal, …) | field LIKE 'text%'
Keywords are case-insensitive; OR, JOIN and GROUP BY are not supported (as in QBO).

Two forms beyond Intuit's grammar are accepted because widely used clients send them and
QuickBooks answers them: `ORDER BY` in two words (python-quickbooks `ListMixin.all`, singer-io
tap-quickbooks) and `SELECT *, Sku FROM Item` (python-quickbooks 0.9.12, tested by its
maintainers against Intuit's sandbox). Which properties `*` leaves out is UNCONFIRMED beyond Sku.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from qbsync_sandbox.emulators.quickbooks import errors
from qbsync_sandbox.emulators.quickbooks.clock import parse_time
from qbsync_sandbox.emulators.quickbooks.properties import EntityProperties

DEFAULT_MAX_RESULTS = 100
# MAXRESULTS above 1000 is capped: widely reported limit, UNCONFIRMED by an Intuit page (research §4).
MAX_RESULTS_LIMIT = 1000

Literal = str | bool | float


@dataclass(frozen=True)
class Condition:
    field: str
    operator: str  # = != < > <= >= in like
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Query:
    entity: str  # as written; the caller resolves it
    count: bool
    conditions: tuple[Condition, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    start_position: int
    max_results: int
    also_selected: tuple[str, ...] = ()  # `SELECT *, Sku`: properties asked for besides `*`

    def filters_on(self, field: str) -> bool:
        return any(condition.field.lower() == field.lower() for condition in self.conditions)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"select", "count", "from", "where", "and", "in", "like", "orderby", "asc", "desc",
             "startposition", "maxresults", "true", "false", "or"}  # fmt: skip


@dataclass(frozen=True)
class _Token:
    kind: str  # string number op punct word keyword end
    text: str
    column: int


def _tokenize(text: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            column = position + len(text[position:]) - len(text[position:].lstrip()) + 1
            raise errors.query_parser_error(
                f'Lexical error at line 1, column {column}. Encountered: "{text[column - 1]}"'
            )
        group = match.lastgroup or "word"
        value = match.group(group)
        kind = "keyword" if group == "word" and value.lower() in _KEYWORDS else group
        tokens.append(_Token(kind, value, match.start(group) + 1))
        position = match.end()
    tokens.append(_Token("end", "<EOF>", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, expected: str) -> errors.QboFault:
        token = self.peek()
        return errors.query_parser_error(
            f'Encountered " {token.kind.upper()} "{token.text} "" at line 1, column {token.column}.\n'
            f"Was expecting:\n    {expected}"
        )

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token.kind == "keyword" and token.text.lower() in words:
            self.index += 1
            return token.text.lower()
        return None

    def expect_keyword(self, word: str) -> None:
        if self.keyword(word) is None:
            raise self.fail(f'"{word}" ...')

    def expect_punct(self, char: str) -> None:
        token = self.peek()
        if token.kind != "punct" or token.text != char:
            raise self.fail(f'"{char}" ...')
        self.index += 1

    def field(self) -> str:
        token = self.peek()
        if token.kind != "word":
            raise self.fail("<IDENTIFIER> ...")
        self.index += 1
        return token.text

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return float(token.text)
        if token.kind == "keyword" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        self.index -= 1
        raise self.fail("<STRING> | <NUMBER> | true | false ...")

    def integer(self) -> int:
        token = self.take()
        if token.kind != "number" or not token.text.isdigit():
            self.index -= 1
            raise self.fail("<INTEGER> ...")
        return int(token.text)

    def parse(self) -> Query:
        self.expect_keyword("select")
        count = False
        if self.keyword("count"):
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        else:
            # Only `*`, optionally followed by properties `*` leaves out (`SELECT *, Sku`).
            self.expect_punct("*")
        also: list[str] = []
        while not count and self.peek().kind == "punct" and self.peek().text == ",":
            self.index += 1
            also.append(self.field())
        self.expect_keyword("from")
        entity = self.field()
        conditions: list[Condition] = []
        if self.keyword("where"):
            conditions.append(self.condition())
            while self.keyword("and"):
                conditions.append(self.condition())
            if self.peek().kind == "keyword" and self.peek().text.lower() == "or":
                raise self.fail('"AND" ... (OR is not supported)')
        order: list[tuple[str, bool]] = []
        if self.keyword("orderby") or self.order_by():
            while True:
                name = self.field()
                direction = self.keyword("asc", "desc")
                order.append((name, direction == "desc"))
                token = self.peek()
                if token.kind == "punct" and token.text == ",":
                    self.index += 1
                    continue
                break
        start, maximum = 1, DEFAULT_MAX_RESULTS
        if self.keyword("startposition"):
            start = max(1, self.integer())
        if self.keyword("maxresults"):
            maximum = min(self.integer(), MAX_RESULTS_LIMIT)
        if self.peek().kind != "end":
            raise self.fail("<EOF>")
        return Query(entity, count, tuple(conditions), tuple(order), start, maximum, tuple(also))

    def order_by(self) -> bool:
        """`ORDER BY` written as two words."""
        first, second = (
            self.tokens[self.index],
            self.tokens[min(self.index + 1, len(self.tokens) - 1)],
        )
        if (first.kind, second.kind) == ("word", "word") and (
            first.text.lower(),
            second.text.lower(),
        ) == ("order", "by"):
            self.index += 2
            return True
        return False

    def condition(self) -> Condition:
        name = self.field()
        if self.keyword("in"):
            self.expect_punct("(")
            values = [self.literal()]
            while self.peek().kind == "punct" and self.peek().text == ",":
                self.index += 1
                values.append(self.literal())
            self.expect_punct(")")
            return Condition(name, "in", tuple(values))
        if self.keyword("like"):
            return Condition(name, "like", (self.literal(),))
        token = self.take()
        if token.kind != "op":
            self.index -= 1
            raise self.fail('"=" | "<" | ">" | "<=" | ">=" | "!=" | "IN" | "LIKE" ...')
        operator = "!=" if token.text == "<>" else token.text
        return Condition(name, operator, (self.literal(),))


def parse_query(text: str) -> Query:
    """Parse a statement; raises the QueryParserError Fault (HTTP 400, code 4000) on bad syntax."""
    if not text or not text.strip():
        raise errors.query_parser_error('Encountered "<EOF>" at line 1, column 1.')
    return _Parser(text).parse()


def check_properties(query: Query, properties: EntityProperties | None) -> None:
    """Refuse a filter, sort or selection on a property QuickBooks does not query (Fault 4001)."""
    if properties is None:
        return
    named = [c.field for c in query.conditions] + [name for name, _ in query.order]
    for name in named:
        if not properties.is_queryable(name):
            raise errors.query_validation_error(f"property '{name}' is not queryable")
    known = {name.lower() for name in properties.known}
    for name in query.also_selected:
        if name.lower() not in known:
            raise errors.query_validation_error(f"property '{name}' is not queryable")


def project(query: Query, properties: EntityProperties | None, record: dict[str, Any]) -> dict:
    """What `select *` returns of a record: all but the properties `*` leaves out, unless asked."""
    if properties is None or not properties.not_in_star:
        return record
    asked = {name.lower() for name in query.also_selected}
    return {
        key: value
        for key, value in record.items()
        if key not in properties.not_in_star or key.lower() in asked
    }


def run_query(query: Query, records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Filter, order and page records; returns (page, total number of matches)."""
    matches = [record for record in records if all(_holds(c, record) for c in query.conditions)]
    keys = query.order or (("Id", False),)
    for name, descending in reversed(keys):
        matches.sort(
            key=lambda record, name=name: _sort_key(_value_at(record, name)), reverse=descending
        )
    first = query.start_position - 1
    return matches[first : first + query.max_results], len(matches)


def _value_at(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:  # the usual spelling: no scan of the keys
            value = value[part]
            continue
        # QuickBooks property names are matched case-insensitively in queries.
        key = next((k for k in value if k.lower() == part.lower()), None)
        if key is None:
            return None
        value = value[key]
    if isinstance(value, dict) and "value" in value:  # references compare by their id
        value = value["value"]
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (1, float(value))
    text = str(value)
    if text.isdigit():
        return (1, float(text))
    moment = _as_time(text)
    if moment is not None:
        return (2, moment.timestamp())
    return (3, text.lower())


@lru_cache(maxsize=65536)
def _as_time(text: str) -> datetime | None:
    # Cached: a query compares every record's time with one literal, and records share times.
    if len(text) < 10 or text[4:5] != "-":
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def _compare(left: Any, right: Literal) -> int | None:
    """-1/0/1 comparing a record value with a literal, or None when they do not compare."""
    if left is None:
        return None
    if isinstance(right, bool):
        return None if not isinstance(left, bool) else (left > right) - (left < right)
    if isinstance(right, float):
        try:
            number = float(left)
        except (TypeError, ValueError):
            return None
        return (number > right) - (number < right)
    text = str(left)
    if text.isdigit() and right.isdigit():  # Ids are numeric strings
        return (int(text) > int(right)) - (int(text) < int(right))
    left_time, right_time = _as_time(text), _as_time(right)
    if left_time is not None and right_time is not None:
        return (left_time > right_time) - (left_time < right_time)
    # String equality is case-insensitive in QuickBooks queries.
    return (text.lower() > right.lower()) - (text.lower() < right.lower())


_OPERATORS = {
    "=": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<": lambda c: c < 0,
    ">": lambda c: c > 0,
    "<=": lambda c: c <= 0,
    ">=": lambda c: c >= 0,
}


@lru_cache(maxsize=256)
def _in_list(values: tuple[Literal, ...]) -> tuple[frozenset[int], tuple[Literal, ...]]:
    """An IN list split for lookups: its numeric strings as numbers, and the other literals."""
    numbers = frozenset(int(v) for v in values if isinstance(v, str) and v.isdigit())
    others = tuple(v for v in values if not (isinstance(v, str) and v.isdigit()))
    return numbers, others


def _is_in(value: Any, values: tuple[Literal, ...]) -> bool:
    """`_compare(value, v) == 0` for some v of `values`, with a set lookup for the numeric
    strings: the worker reads a batch as `Id IN (500 ids)`, and comparing each of a realm's
    10,000 records with each id made the emulator, not the product, the bottleneck of the
    burst benchmark (issue 19). Numeric strings equal each other as numbers, as `_compare`
    has them; the other literals (floats, booleans, words) are compared as before."""
    numbers, others = _in_list(values)
    if value is not None and not isinstance(value, bool):
        text = str(value)
        if text.isdigit():
            if int(text) in numbers:
                return True
            return any(_compare(value, literal) == 0 for literal in others)
    return any(_compare(value, literal) == 0 for literal in values)


def _holds(condition: Condition, record: dict[str, Any]) -> bool:
    value = _value_at(record, condition.field)
    if condition.operator == "in":
        return _is_in(value, condition.values)
    if condition.operator == "like":
        pattern = (
            "^" + ".*".join(re.escape(part) for part in str(condition.values[0]).split("%")) + "$"
        )
        return value is not None and re.match(pattern, str(value), re.IGNORECASE) is not None
    result = _compare(value, condition.values[0])
    return result is not None and _OPERATORS[condition.operator](result)
