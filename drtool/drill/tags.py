"""Tag expressions (`-m "rds and not slow"`): parsed the way pytest parses them, before anything runs."""

from __future__ import annotations

from typing import Iterable

from _pytest.mark.expression import Expression

MAX_EXPRESSION = 1000


def _compile(expression: str) -> Expression:
    return Expression.compile(expression)


def tag_expression_problem(expression: str) -> str | None:
    """Why `expression` is not a tag expression pytest accepts, or None."""
    if not expression.strip():
        return "the tag expression is empty; remove it to run every scenario"
    if len(expression) > MAX_EXPRESSION:
        return f"a tag expression of {len(expression):,} characters; at most {MAX_EXPRESSION:,}"
    try:
        _compile(expression)
    except SyntaxError as exc:
        return f"tag expression {expression!r} does not parse: at column {exc.offset}: {exc.msg}"
    except RecursionError:
        return f"tag expression {expression[:40]!r}... is nested too deep"
    return None


def selects(expression: str, tags: Iterable[str]) -> bool:
    """Whether a scenario with these tags is selected (call `tag_expression_problem` first)."""
    names = frozenset(tags)
    return _compile(expression).evaluate(lambda name, /, **kwargs: not kwargs and name in names)
