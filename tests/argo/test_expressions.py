"""The expr-lang subset that decides what a retry expression retries: exact values, precedence,
short-circuits, and a clear error for anything outside the subset (never a guess)."""

from __future__ import annotations

from typing import Any

import pytest

from jobframe.argo.expressions import ExpressionError, evaluate

LAST = {"lastRetry": {"exitCode": "75", "status": "Failed", "duration": "12", "message": "m"}}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('lastRetry.exitCode == "75"', True),
        ("lastRetry.exitCode == '75'", True),
        ("lastRetry.exitCode == 75", False),  # a string is never equal to a number
        ("asInt(lastRetry.exitCode) == 75", True),
        ("int(lastRetry.exitCode) == 75.0", True),
        ("asFloat(lastRetry.duration) > 11.5", True),
        ('lastRetry.exitCode in ["75", "143"]', True),
        ('lastRetry.exitCode in ["7", "750"]', False),
        ("asInt(lastRetry.exitCode) in [75, 143]", True),
        ('lastRetry.exitCode not in ["1", "2"]', True),
        ('!(lastRetry.exitCode in ["75"])', False),
        ('not (lastRetry.exitCode == "75")', False),
        ('lastRetry.exitCode != "75"', False),
        ("asInt(lastRetry.exitCode) >= 75 && asInt(lastRetry.exitCode) < 100", True),
        ("asInt(lastRetry.exitCode) > 75 || asInt(lastRetry.exitCode) <= 74", False),
        ("lastRetry.status == 'Error' or lastRetry.exitCode == '75'", True),
        ("lastRetry.status == 'Error' and lastRetry.exitCode == '75'", False),
        ("lastRetry.exitCode matches '^7[0-9]$'", True),
        ("lastRetry.message contains 'm'", True),
        ("lastRetry.status startsWith 'Fail'", True),
        ("lastRetry.status endsWith 'ed'", True),
        ("lower(lastRetry.status) == 'failed' && upper('a') == 'A' && trim(' x ') == 'x'", True),
        ("len([1, 2, 3]) == 3 && string(7) == '7' && toString(true) == 'true'", True),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 % 4 - 10 / 4", 0.5),
        ("-2 * 3", -6),
        ("+4", 4),
        ("!true == false", True),  # unary binds tighter than ==
        ("true ? 'a' : 'b'", "a"),
        ("false ? 'a' : true ? 'b' : 'c'", "b"),
        ("[1, 2][1]", 2),
        ("lastRetry['exitCode']", "75"),
        ("nil == nil", True),
        ("'a\\'b' == \"a'b\"", True),
        ("'tab\\there'", "tab\there"),
        ("'a' + 'b' == 'ab'", True),
        ("1 == 1.0", True),
        # Sprig (Argo's env has it as `sprig`): the haystack is the last argument
        ("sprig.contains('7', lastRetry.exitCode)", True),
        ("sprig.contains(lastRetry.exitCode, '7')", False),
        ("sprig.hasPrefix('7', lastRetry.exitCode) && !sprig.hasPrefix('5', lastRetry.exitCode)", True),
        ("sprig.hasSuffix('5', lastRetry.exitCode) && !sprig.hasSuffix('7', lastRetry.exitCode)", True),
        ("sprig.has('75', sprig.list('1', '75'))", True),
        ("sprig.has('7', sprig.list('1', '75'))", False),
        ("sprig.regexMatch('^7[0-9]$', lastRetry.exitCode)", True),
        ("sprig.regexMatch('^7$', lastRetry.exitCode)", False),
        ("sprig.int(lastRetry.exitCode) + sprig.atoi('1')", 76),
        ("sprig.toString(75) == lastRetry.exitCode", True),
        ("sprig.lower('AB') + sprig.upper('c') + sprig.trim(' d ')", "abCd"),
        ("sprig.list()", []),
    ],
)
def test_values(source: str, expected: Any) -> None:
    assert evaluate(source, LAST) == expected


def test_and_or_and_ternary_short_circuit() -> None:
    empty = {"lastRetry": {"exitCode": ""}}
    assert evaluate('lastRetry.exitCode == "" || asInt(lastRetry.exitCode) == 75', empty) is True
    assert evaluate('lastRetry.exitCode != "" && asInt(lastRetry.exitCode) == 75', empty) is False
    assert evaluate("true ? 1 : asInt('x')", empty) == 1
    with pytest.raises(ExpressionError, match="asInt"):
        evaluate('lastRetry.exitCode == "" && asInt(lastRetry.exitCode) == 75', empty)


def test_the_optional_parameter_tag_render_writes() -> None:
    source = "inputs.parameters.c == '' ? '--job-name=J' : '--param=c=' + inputs.parameters.c"
    assert evaluate(source, {"inputs": {"parameters": {"c": ""}}}) == "--job-name=J"
    assert evaluate(source, {"inputs": {"parameters": {"c": "camp 1"}}}) == "--param=c=camp 1"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("sprig.trim(1)", "expected a string"),
        ("sprig.semverCompare('1', '2')", "unknown function 'sprig.semverCompare'"),
        ("sprig.contains('a')", "sprig.contains()"),
        ("sprig", "unknown variable 'sprig'"),
        ("lastRetry.lower('A')", "unexpected '('"),  # a call on a field is not Sprig's
        ("retries > 1", "unknown variable 'retries'"),
        ("foo(1)", "unknown function 'foo'"),
        ("lastRetry.exitCode < 3", "not supported"),
        ("lastRetry.nope", "no field 'nope'"),
        ("asInt('')", "not an integer"),
        ("asInt(true)", "not a number"),
        ("asFloat('x')", "not a number"),
        ("1 ==", "unexpected"),
        ("(1 == 1", "expected ')'"),
        ("1 == 1 )", "unexpected ')'"),
        ("lastRetry.exitCode == '75' ;", "unexpected ';'"),
        ("1 in 2", "array or a map"),
        ("!1", "expected a boolean"),
        ("1 && true", "expected a boolean"),
        ("-'a'", "needs a number"),
        ("1 / 0", "division"),
        ("true ? 1", "expected ':'"),
        ("lastRetry.", "field name"),
        ("len(1)", "len()"),
    ],
)
def test_what_is_not_understood_is_an_error(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(source, LAST)


def test_membership_in_a_map_and_equality_of_numbers_across_types() -> None:
    assert evaluate("'exitCode' in lastRetry", LAST) is True
    assert evaluate("'x' in lastRetry", LAST) is False
    assert evaluate("1 in [1.0]", LAST) is True
    assert evaluate("true in [1]", LAST) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("10 - 2 - 3", 5),  # left-associative
        ("8 / 4 / 2", 1),
        ("-7 % 3", 2),  # unary minus binds to its operand first
        ("1 == 1   ", True),  # trailing blanks
        ("'!' == '!' && 'not' == 'not'", True),  # operators inside strings are text
        ("'a\\qb'", "aqb"),  # an unknown escape keeps its character
        ("asInt(7.9)", 7),
        ("string(false) + string(nil) + string(3)", "false3"),
        ("!false", True),
    ],
)
def test_more_values(source: str, expected: Any) -> None:
    assert evaluate(source, LAST) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("1 == 1 )", "unexpected ')' at 7"),
        ("(1 == 1", "expected ')' at 7, got 'the end'"),
        ("['a', ']'", "expected ']' at 9, got 'the end'"),  # a string ']' closes nothing
        ("true false", "unexpected 'false' at 5"),
        ("true not", "unexpected 'not' at 5"),
        ("1 ==", "'end of expression' at 4"),
        ("1 in 2", "got int"),
        ("1 == 1 @", "unexpected '@' at 7"),
    ],
)
def test_errors_say_where(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate(source, LAST)
    assert message in str(caught.value)
