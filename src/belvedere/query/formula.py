"""Formulas over trend series (``"A / B * 100"``): parsed with Python's ``ast`` and evaluated by a small
walker that knows numbers, series letters, + - * / and parentheses — nothing else can run."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

_OPERATORS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


class FormulaError(ValueError):
    pass


def check_formula(text: str, letters: set[str]) -> ast.expr:
    """Parse and validate; raises ``FormulaError`` naming what is not allowed."""
    if len(text) > 500:
        raise FormulaError("a formula has at most 500 characters")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise FormulaError(f"{text!r} is not a formula such as 'A / B * 100'") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in letters:
                raise FormulaError(f"{node.id!r} is not a series; use {', '.join(sorted(letters))}")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise FormulaError("only numbers may appear in a formula")
        elif not isinstance(node, ast.BinOp | ast.UnaryOp | ast.operator | ast.USub | ast.UAdd | ast.Load):
            raise FormulaError(f"{type(node).__name__} is not allowed in a formula")
        elif isinstance(node, ast.BinOp) and type(node.op) not in _OPERATORS:
            raise FormulaError("a formula may use + - * / and parentheses")
    return tree


def evaluate(tree: ast.expr, values: Mapping[str, float]) -> float | None:
    """The formula's value; None where it divides by zero."""

    def walk(node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)  # type: ignore[arg-type]  # checked numeric by check_formula
        if isinstance(node, ast.Name):
            return float(values.get(node.id) or 0)
        if isinstance(node, ast.UnaryOp):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        assert isinstance(node, ast.BinOp)
        return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))

    try:
        return round(walk(tree), 6)
    except ZeroDivisionError:
        return None
