"""The ``calculator`` tool: arithmetic evaluated through the ``ast`` module,
never ``eval``. Numbers, + - * / // % ** (or ^), parentheses, the constants pi,
e and tau and a few math functions; results and intermediate integers are
capped so that no expression can exhaust the worker."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from lumyx.agents.tools.server_tool import ServerTool, ToolError

MAX_EXPRESSION_CHARS = 500
MAX_INT_BITS = 4096  # about 1,233 decimal digits
MAX_DEPTH = 60
MAX_FUNCTION_ARGS = 100

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_FUNCTIONS: dict[str, tuple[Callable, int, int]] = {  # name: (function, least args, most args)
    "sqrt": (math.sqrt, 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (math.log, 1, 2),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "abs": (abs, 1, 1),
    "round": (round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "min": (min, 1, MAX_FUNCTION_ARGS),
    "max": (max, 1, MAX_FUNCTION_ARGS),
}


def _checked(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolError("the result is not a real number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is too large (or not a number)")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise ToolError("the result is too large")
    return value


def _power(base, exponent):
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * (base.bit_length() - 1) > MAX_INT_BITS:
            raise ToolError("the result is too large")
    if isinstance(base, float) or isinstance(exponent, float) or exponent < 0:
        if abs(exponent) > 1e6:
            raise ToolError("the exponent is too large")
    return pow(base, exponent)


def _evaluate(node, depth: int = 0):
    if depth > MAX_DEPTH:
        raise ToolError("the expression is nested too deeply")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ToolError(f"only numbers are allowed, not {node.value!r}")
        return _checked(node.value)
    if isinstance(node, ast.Name):
        if node.id not in _CONSTANTS:
            raise ToolError(f"unknown name '{node.id}'")
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand, depth + 1))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, depth + 1), _evaluate(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return _checked(_power(left, right))
        if (
            isinstance(node.op, ast.Mult)
            and isinstance(left, int)
            and isinstance(right, int)
            and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1
        ):
            raise ToolError("the result is too large")
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        function, least, most = _FUNCTIONS[node.func.id]
        if node.keywords or not least <= len(node.args) <= most:
            raise ToolError(
                f"{node.func.id}() takes {least}" + (f" to {most}" if most > least else "") + " positional argument(s)"
            )
        args = [_evaluate(arg, depth + 1) for arg in node.args]
        if node.func.id == "round" and len(args) == 2 and (not isinstance(args[1], int) or abs(args[1]) > 100):
            raise ToolError("round()'s second argument must be a whole number of digits")
        return _checked(function(*args))
    raise ToolError(
        f"'{ast.unparse(node)[:40]}' is not allowed: use numbers, + - * / // % **, parentheses "
        f"and {', '.join(_FUNCTIONS)}"
    )


def calculate(expression) -> int | float:
    """The value of an arithmetic expression; raises ToolError for anything else."""
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("'expression' must be a non-empty string such as \"(2 + 3) * 4\"")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ToolError(f"'{expression[:80]}' is not an arithmetic expression") from None
    try:
        value = _evaluate(tree.body)
    except ZeroDivisionError:
        raise ToolError("division by zero") from None
    except (OverflowError, MemoryError):
        raise ToolError("the result is too large") from None
    except (ValueError, TypeError, RecursionError):
        raise ToolError("the expression is outside the functions' domain") from None
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _calculator(arguments: dict) -> dict:
    expression = arguments.get("expression")
    return {"expression": expression, "result": calculate(expression)}


CALCULATOR = ServerTool(
    "calculator",
    "Evaluate an arithmetic expression exactly: numbers, + - * / // % ** (or ^), parentheses, "
    "the constants pi, e, tau and the functions " + ", ".join(_FUNCTIONS) + ".",
    {
        "type": "object",
        "properties": {
            "expression": {"type": "string", "description": "The expression, e.g. (2 + 3) * 4 or sqrt(2) / 2"}
        },
        "required": ["expression"],
    },
    _calculator,
)
