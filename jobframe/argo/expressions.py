"""Argo's expression language (expr-lang), the part manifests use: evaluate, don't guess.

``lint`` must know which exit codes a hand-written ``retryStrategy.expression`` retries, and the
rendered arguments use one ``{{= ... }}`` tag; reading them with patterns would miss the forms
people write (``asInt(lastRetry.exitCode) >= 75``, ``!(... in [...])``, ``and``/``or``). This
is a small parser and evaluator for literals, variables with ``.field``/``[index]``, arrays,
function calls (``asInt``, ``asFloat``, ``string``, ``lower``, ``upper``, ``trim``, ``len``, and
the Sprig ones retry expressions use: ``sprig.contains``, ``hasPrefix``, ``regexMatch``, ...),
``!``/``not`` and unary ``-``, arithmetic, comparisons, ``in``/``not in``, ``matches``, ``contains``,
``startsWith``, ``endsWith``, ``&&``/``and``, ``||``/``or`` and ``?:``, with expr-lang's
precedence. Anything else is an :class:`ExpressionError`, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ExpressionError", "UnknownNameError", "evaluate"]


class ExpressionError(ValueError):
    """The expression cannot be parsed or evaluated here."""


class UnknownNameError(ExpressionError):
    """A function or variable this evaluator does not know: Argo may well (``jsonpath``, a Sprig
    function not listed here), so what the expression gives cannot be told — not a fault."""


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+\.\d+|\d+)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()\[\]])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    at: int


def _tokens(source: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            rest = source[pos:].lstrip()
            raise ExpressionError(f"unexpected {rest[:10]!r} at {len(source) - len(rest)}")
        kind = match.lastgroup
        assert kind is not None
        out.append(_Tok(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    out.append(_Tok("end", "", len(source)))
    return out


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ExpressionError(f"asInt({value!r}): not a number")
    if isinstance(value, int | float):
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise ExpressionError(f"asInt({value!r}): not an integer") from None


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ExpressionError(f"asFloat({value!r}): not a number") from None


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "asInt": _int,
    "int": _int,
    "asFloat": _float,
    "float": _float,
    "string": _string,
    "toString": _string,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
    "trim": lambda s: str(s).strip(),
    "len": len,
}


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"expected a string, got {value!r}")
    return value


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    """expr-lang's ``==``: numbers by value, anything else only with its own type (``"75" != 75``)."""
    if _num(a) and _num(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _member(item: Any, container: Any) -> bool:
    if isinstance(container, Mapping):
        return item in container
    if isinstance(container, list):
        return any(_equal(item, c) for c in container)
    raise ExpressionError(f"'in' needs an array or a map, got {type(container).__name__}")


_SPRIG: dict[str, Callable[..., Any]] = {
    # Sprig's argument order: the haystack comes last (`contains "75" lastRetry.exitCode`).
    "contains": lambda sub, s: _text(sub) in _text(s),
    "hasPrefix": lambda prefix, s: _text(s).startswith(_text(prefix)),
    "hasSuffix": lambda suffix, s: _text(s).endswith(_text(suffix)),
    "has": _member,
    "regexMatch": lambda regex, s: re.search(_text(regex), _text(s)) is not None,
    "int": _int,
    "atoi": _int,
    "toString": _string,
    "lower": lambda s: _text(s).lower(),
    "upper": lambda s: _text(s).upper(),
    "trim": lambda s: _text(s).strip(),
    "list": lambda *items: list(items),
}
"""The part of Sprig (``sprig.contains(...)``) retry expressions use; others are unknown here."""


_BINARY = {  # operator → (precedence, function)
    "||": (10, None),
    "or": (10, None),
    "&&": (15, None),
    "and": (15, None),
    "==": (20, _equal),
    "!=": (20, lambda a, b: not _equal(a, b)),
    "<": (20, lambda a, b: a < b),
    ">": (20, lambda a, b: a > b),
    "<=": (20, lambda a, b: a <= b),
    ">=": (20, lambda a, b: a >= b),
    "in": (20, _member),
    "matches": (20, lambda a, b: re.search(b, a) is not None),
    "contains": (20, lambda a, b: b in a),
    "startsWith": (20, lambda a, b: a.startswith(b)),
    "endsWith": (20, lambda a, b: a.endswith(b)),
    "+": (30, lambda a, b: a + b),
    "-": (30, lambda a, b: a - b),
    "*": (60, lambda a, b: a * b),
    "/": (60, lambda a, b: a / b),
    "%": (60, lambda a, b: a % b),
}


Node = Callable[[], Any]
"""A parsed expression: call it to evaluate (so ``&&``, ``||`` and ``?:`` short-circuit, as in expr)."""


class _Parser:
    def __init__(self, source: str, variables: Mapping[str, Any]) -> None:
        self.toks = _tokens(source)
        self.pos = 0
        self.variables = variables

    # -- token helpers -------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind == "string":
            raise ExpressionError(f"expected {text!r} at {tok.at}, got {tok.text or 'the end'!r}")

    def binary_op(self) -> str | None:
        tok = self.peek()
        if tok.kind in ("op", "name") and tok.text in _BINARY:
            return tok.text
        if tok.kind == "name" and tok.text == "not" and self.peek(1).text == "in":
            return "not in"
        return None

    # -- grammar -------------------------------------------------------------------------------

    def parse(self) -> Node:
        node = self.ternary()
        if self.peek().kind != "end":
            raise ExpressionError(f"unexpected {self.peek().text!r} at {self.peek().at}")
        return node

    def ternary(self) -> Node:
        condition = self.binary(0)
        if self.peek().text != "?":
            return condition
        self.take()
        yes = self.ternary()
        self.expect(":")
        no = self.ternary()
        return lambda: yes() if _truth(condition()) else no()

    def binary(self, floor: int) -> Node:
        left = self.unary()
        while (op := self.binary_op()) is not None:
            precedence = _BINARY["in" if op == "not in" else op][0]
            if precedence <= floor:
                break
            self.take()
            if op == "not in":
                self.take()
            left = _apply(op, left, self.binary(precedence))
        return left

    def unary(self) -> Node:
        """``!``/``not``/``-``/``+`` bind to the operand right after them (expr's ``-`` does too;
        its ``not`` also takes ``*``, ``/`` and ``%`` — arithmetic that retry expressions never negate)."""
        tok = self.peek()
        if tok.text in ("!", "not") and tok.kind != "string":
            self.take()
            operand = self.unary()
            return lambda: not _truth(operand())
        if tok.text in ("-", "+") and tok.kind == "op":
            self.take()
            operand = self.unary()
            return lambda: _sign(tok.text, operand())
        return self.postfix(self.primary())

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "number":
            number = float(tok.text) if "." in tok.text else int(tok.text)
            return lambda: number
        if tok.kind == "string":
            text = _unquote(tok.text)
            return lambda: text
        if tok.text == "(":
            node = self.ternary()
            self.expect(")")
            return node
        if tok.text == "[":
            items = self.sequence("]")
            return lambda: [item() for item in items]
        if tok.kind == "name":
            return self.name(tok)
        raise ExpressionError(f"unexpected {tok.text or 'end of expression'!r} at {tok.at}")

    def name(self, tok: _Tok) -> Node:
        if tok.text in ("true", "false"):
            flag = tok.text == "true"
            return lambda: flag
        if tok.text == "nil":
            return lambda: None
        if tok.text == "sprig" and self.peek().text == "." and self.peek(2).text == "(":
            self.take()
            name = self.take().text
            return self.call(f"sprig.{name}", _SPRIG.get(name))
        if self.peek().text == "(":
            return self.call(tok.text, _FUNCTIONS.get(tok.text))
        if tok.text not in self.variables:
            raise UnknownNameError(f"unknown variable {tok.text!r}")
        value = self.variables[tok.text]
        return lambda: value

    def call(self, name: str, function: Callable[..., Any] | None) -> Node:
        if function is None:
            raise UnknownNameError(f"unknown function {name!r}")
        self.take()
        args = self.sequence(")")
        return lambda: _call(name, function, [arg() for arg in args])

    def sequence(self, close: str) -> list[Node]:
        items: list[Node] = []
        while self.peek().text != close:
            items.append(self.ternary())
            if self.peek().text != ",":
                break
            self.take()
        self.expect(close)
        return items

    def postfix(self, node: Node) -> Node:
        while self.peek().text in (".", "[") and self.peek().kind == "op":
            if self.take().text == ".":
                field = self.take()
                if field.kind != "name":
                    raise ExpressionError(f"expected a field name at {field.at}")
                node = _field(node, _const(field.text))
            else:
                index = self.ternary()
                self.expect("]")
                node = _field(node, index)
        return node


def _const(value: Any) -> Node:
    return lambda: value


def _apply(op: str, left: Node, right: Node) -> Node:
    if op in ("||", "or"):
        return lambda: _truth(left()) or _truth(right())
    if op in ("&&", "and"):
        return lambda: _truth(left()) and _truth(right())
    if op == "not in":
        return lambda: not _member(left(), right())
    function = _BINARY[op][1]
    assert function is not None

    def run() -> Any:
        a, b = left(), right()
        try:
            return function(a, b)
        except ExpressionError:
            raise
        except (TypeError, ValueError, AttributeError, ZeroDivisionError, re.error) as exc:
            raise ExpressionError(f"{a!r} {op} {b!r}: {exc}") from None

    return run


def _field(node: Node, key: Node) -> Node:
    def run() -> Any:
        value, name = node(), key()
        try:
            return value[name]
        except (KeyError, IndexError, TypeError):
            raise ExpressionError(f"no field {name!r} in {value!r}") from None

    return run


def _call(name: str, function: Callable[..., Any], args: list[Any]) -> Any:
    try:
        return function(*args)
    except ExpressionError:
        raise
    except TypeError as exc:
        raise ExpressionError(f"{name}(): {exc}") from None


def _sign(sign: str, value: Any) -> Any:
    if not _num(value):
        raise ExpressionError(f"unary {sign} needs a number, got {value!r}")
    return -value if sign == "-" else value


def _truth(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"expected a boolean, got {value!r}")
    return value


def evaluate(source: str, variables: Mapping[str, Any]) -> Any:
    """The value of ``source`` with ``variables`` (nested maps for ``a.b.c``).

    Unknown variables and functions are errors when the expression is parsed, wherever they are.
    """
    return _Parser(source, variables).parse()()
