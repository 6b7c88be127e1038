"""A small evaluator for Salesforce formulas (validation rules, formula fields).

Covers the operators (`&`, `+ - * /`, comparisons, `&& ||`, `!`) and the functions the package's rules
and the standard objects use: AND, OR, NOT, IF, ISBLANK, ISNULL, BLANKVALUE, CASESAFEID, TEXT, LEN,
BEGINS, CONTAINS, UPPER, LOWER, TRIM, ISPICKVAL, ISNEW, ISCHANGED, PRIORVALUE. Field references may be
paths through parent relationships (`Company__r.Realm_Id__c`). Precedence follows Salesforce's
operator table: unary, `^`, `* /`, `+ - &`, comparisons, `&&`, `||`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qbsync_sandbox.emulators.salesforce import ids


class FormulaError(Exception):
    """The formula uses syntax or a function the emulator does not implement."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>/\*.*?\*/)
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_$][A-Za-z0-9_.$]*)
      | (?P<op>&&|\|\||==|!=|<>|<=|>=|[=<>&+\-*/^!(),])
    )""",
    re.VERBOSE | re.DOTALL,
)

FUNCTIONS = {
    "AND", "OR", "NOT", "IF", "ISBLANK", "ISNULL", "BLANKVALUE", "NULLVALUE", "CASESAFEID", "TEXT",
    "LEN", "BEGINS", "CONTAINS", "UPPER", "LOWER", "TRIM", "ISPICKVAL", "ISNEW", "ISCHANGED",
    "PRIORVALUE", "HYPERLINK",
}  # fmt: skip

_BINARY = {  # operator -> (precedence, kind)
    "||": 1,
    "&&": 2,
    "=": 3,
    "==": 3,
    "!=": 3,
    "<>": 3,
    "<": 3,
    ">": 3,
    "<=": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "&": 4,
    "*": 5,
    "/": 5,
    "^": 6,
}


def _tokens(source: str) -> list[tuple[str, str]]:
    found, position = [], 0
    source = source.rstrip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if not match or match.end() == position:
            raise FormulaError(f"unexpected character at {position}: {source[position:][:20]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind != "comment":
            found.append((kind, match.group(kind)))
    return found


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    index: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1] != expected):
            raise FormulaError(f"expected {expected or 'an operand'}, found {token}")
        self.index += 1
        return token

    def expression(self, min_precedence: int = 1) -> tuple:
        left = self.unary()
        while True:
            token = self.peek()
            if token is None or token[0] != "op" or token[1] not in _BINARY:
                return left
            precedence = _BINARY[token[1]]
            if precedence < min_precedence:
                return left
            self.index += 1
            right = self.expression(precedence + 1)
            left = ("binary", token[1], left, right)

    def unary(self) -> tuple:
        token = self.take()
        kind, text = token
        if kind == "op" and text in {"!", "-", "+"}:
            return ("unary", text, self.unary())
        if kind == "op" and text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "number":
            return ("literal", float(text))
        if kind == "string":
            return ("literal", re.sub(r"\\(.)", r"\1", text[1:-1]))
        if kind == "name":
            upper = text.upper()
            if upper in {"TRUE", "FALSE"}:
                return ("literal", upper == "TRUE")
            if upper == "NULL":
                return ("literal", None)
            following = self.peek()
            if following == ("op", "("):
                self.index += 1
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.expression())
                    while self.peek() == ("op", ","):
                        self.index += 1
                        args.append(self.expression())
                self.take(")")
                if upper not in FUNCTIONS:
                    raise FormulaError(f"the emulator does not implement the function {upper}")
                return ("call", upper, args)
            return ("field", text)
        raise FormulaError(f"unexpected {text!r}")


def parse(source: str) -> tuple:
    """Parse a formula into a small tree (raises FormulaError)."""
    parser = _Parser(_tokens(source))
    tree = parser.expression()
    if parser.peek() is not None:
        raise FormulaError(f"unexpected {parser.peek()[1]!r} after the end of the formula")
    return tree


@dataclass
class Context:
    """What a formula can see: field values by path, and the record's previous state."""

    resolve: Callable[[str], Any]
    is_new: bool = True
    resolve_prior: Callable[[str], Any] | None = None


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(left, str) or isinstance(right, str):
        left, right = _text(left), _text(right)
    elif left is None or right is None:
        return op in {"=", "=="} and left is right or op in {"!=", "<>"} and left is not right
    if op in {"=", "=="}:
        return left == right
    if op in {"!=", "<>"}:
        return left != right
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        if right == 0:
            raise FormulaError("division by zero")
        return left / right
    return left**right


def evaluate(tree: tuple, context: Context) -> Any:
    """Evaluate a parsed formula."""
    kind = tree[0]
    if kind == "literal":
        return tree[1]
    if kind == "field":
        return context.resolve(tree[1])
    if kind == "unary":
        value = evaluate(tree[2], context)
        if tree[1] == "!":
            return not value
        return None if value is None else (-value if tree[1] == "-" else value)
    if kind == "binary":
        op = tree[1]
        if op == "&&":
            return bool(evaluate(tree[2], context)) and bool(evaluate(tree[3], context))
        if op == "||":
            return bool(evaluate(tree[2], context)) or bool(evaluate(tree[3], context))
        left, right = evaluate(tree[2], context), evaluate(tree[3], context)
        if op == "&":
            return _text(left) + _text(right)
        if op in {"+", "-", "*", "/", "^"}:
            return _arith(op, left, right)
        return _compare(op, left, right)
    return _call(tree[1], tree[2], context)


def _field_name(node: tuple, function: str) -> str:
    if node[0] != "field":
        raise FormulaError(f"{function} needs a field")
    return node[1]


def _call(name: str, args: list[tuple], context: Context) -> Any:  # noqa: C901 - one dispatch
    def arg(index: int) -> Any:
        return evaluate(args[index], context)

    if name == "AND":
        return all(bool(arg(i)) for i in range(len(args)))
    if name == "OR":
        return any(bool(arg(i)) for i in range(len(args)))
    if name == "NOT":
        return not arg(0)
    if name == "IF":
        return arg(1) if arg(0) else arg(2)
    if name in {"ISBLANK", "ISNULL"}:
        return _blank(arg(0))
    if name in {"BLANKVALUE", "NULLVALUE"}:
        value = arg(0)
        return arg(1) if _blank(value) else value
    if name == "CASESAFEID":
        value = arg(0)
        return ids.normalize(value) or value if value else value
    if name == "TEXT":
        return _text(arg(0))
    if name == "LEN":
        return float(len(_text(arg(0))))
    if name == "BEGINS":
        return _text(arg(0)).startswith(_text(arg(1)))
    if name == "CONTAINS":
        return _text(arg(1)) in _text(arg(0))
    if name == "UPPER":
        return _text(arg(0)).upper()
    if name == "LOWER":
        return _text(arg(0)).lower()
    if name == "TRIM":
        return _text(arg(0)).strip()
    if name == "ISPICKVAL":
        return _text(arg(0)) == _text(arg(1))
    if name == "HYPERLINK":
        # The API returns a hyperlink formula's value as the anchor element it renders.
        target = _text(arg(2)) if len(args) > 2 else "_blank"
        return (
            f'<a href="{html.escape(_text(arg(0)))}" target="{html.escape(target)}">'
            f"{html.escape(_text(arg(1)))}</a>"
        )
    if name == "ISNEW":
        return context.is_new
    if name in {"ISCHANGED", "PRIORVALUE"}:
        path = _field_name(args[0], name)
        prior = context.resolve_prior(path) if context.resolve_prior else None
        if name == "PRIORVALUE":
            return prior
        return not context.is_new and prior != context.resolve(path)
    raise FormulaError(f"the emulator does not implement the formula function {name}")


def field_references(tree: tuple) -> set[str]:
    """Every field path a formula reads (to validate rules against the schema at load time)."""
    if tree[0] == "field":
        return {tree[1]}
    children = tree[2] if tree[0] == "call" else tree[2:]
    found: set[str] = set()
    for child in children:
        if isinstance(child, tuple):
            found |= field_references(child)
    return found
