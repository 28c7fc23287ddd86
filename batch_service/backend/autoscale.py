"""Autoscale formulas the local service can evaluate: a parser and an evaluator, no I/O.

What is supported (everything else is refused naming what it met):
    formula    := statement (';' statement)* ';'?
    statement  := name '=' expr
    expr       := term (('+' | '-') term)*
    term       := unary (('*' | '/') unary)*
    unary      := '-' unary | atom
    atom       := number | '(' expr ')' | min/max '(' expr (',' expr)* ')' | sample | name | deallocation
    sample     := '$PendingTasks' | '$ActiveTasks' | '$RunningTasks', optionally '.GetSample(1)' (the last sample)
Assignable service variables are $TargetDedicatedNodes, $TargetLowPriorityNodes and $NodeDeallocationOption
(requeue, terminate, taskcompletion, retaineddata); names without `$` are the formula's own variables.
The sample variables are computed from the pool's jobs: active tasks, running tasks, and their sum.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SAMPLES = ("$PendingTasks", "$ActiveTasks", "$RunningTasks")
OUTPUTS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", "$NodeDeallocationOption")
DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")
FUNCTIONS = ("min", "max")
MAX_FORMULA_LENGTH = 8192  # the service's documented limit on a formula's length

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/=(),;.]))")
Value = float | str
Expression = Callable[[Mapping[str, Value]], Value]


class FormulaSyntaxError(ValueError):
    """The formula does not parse."""


class FormulaNotSupported(ValueError):
    """The formula parses but uses something the local service cannot evaluate (named in the message)."""


class FormulaRuntimeError(ValueError):
    """Evaluation failed (division by zero, a variable used before it was assigned)."""


@dataclass(frozen=True)
class Formula:
    """A parsed formula: its assignments in order."""

    statements: tuple[tuple[str, Expression], ...]

    def evaluate(self, samples: Mapping[str, int]) -> dict[str, Value]:
        """Every assigned variable's value, given the sample variables' current values."""
        scope: dict[str, Value] = {name: float(samples.get(name, 0)) for name in SAMPLES}
        results: dict[str, Value] = {}
        for name, expression in self.statements:
            value = expression(scope)
            scope[name] = value
            results[name] = value
        return results


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens = []
    position = 0
    text = re.sub(r"//[^\n]*", "", text)  # the service's formulas allow // comments
    while position < len(text):
        if text[position:].isspace():
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormulaSyntaxError(f"unexpected character {text[position:].strip()[:1]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokens(text)
        self._index = 0

    def _peek(self) -> str:
        return self._tokens[self._index][1] if self._index < len(self._tokens) else ""

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self._index >= len(self._tokens):
            raise FormulaSyntaxError("unexpected end of the formula")
        token = self._tokens[self._index]
        if expected is not None and token[1] != expected:
            raise FormulaSyntaxError(f"expected '{expected}' but found '{token[1]}'")
        self._index += 1
        return token

    def formula(self) -> Formula:
        statements = []
        while self._index < len(self._tokens):
            if self._peek() == ";":
                self._index += 1
                continue
            statements.append(self._statement())
            if self._index < len(self._tokens):
                self._take(";")
        if not statements:
            raise FormulaSyntaxError("the formula has no statement")
        return Formula(tuple(statements))

    def _statement(self) -> tuple[str, Expression]:
        kind, name = self._take()
        if kind != "name":
            raise FormulaSyntaxError(f"a statement starts with a variable name, not '{name}'")
        if name.startswith("$") and name not in OUTPUTS:
            raise FormulaNotSupported(f"assigning {name} is not supported locally; assignable service variables "
                                      f"are {', '.join(OUTPUTS)}")
        self._take("=")
        return name, self._expression()

    def _expression(self) -> Expression:
        result = self._term()
        while self._peek() in ("+", "-"):
            operator = self._take()[1]
            result = _binary(operator, result, self._term())
        return result

    def _term(self) -> Expression:
        result = self._unary()
        while self._peek() in ("*", "/"):
            operator = self._take()[1]
            result = _binary(operator, result, self._unary())
        return result

    def _unary(self) -> Expression:
        if self._peek() == "-":
            self._index += 1
            inner = self._unary()
            return lambda scope: -_number(inner(scope))
        return self._atom()

    def _atom(self) -> Expression:
        kind, text = self._take()
        if kind == "number":
            value = float(text)
            return lambda scope: value
        if text == "(":
            inner = self._expression()
            self._take(")")
            return inner
        if kind != "name":
            raise FormulaSyntaxError(f"expected a value but found '{text}'")
        if self._peek() == "(":
            return self._call(text)
        if text.lower() in DEALLOCATION_OPTIONS:
            return lambda scope: text.lower()
        if text.startswith("$"):
            return self._service_variable(text)
        return lambda scope: _read(scope, text)

    def _call(self, function: str) -> Expression:
        if function.lower() not in FUNCTIONS:
            raise FormulaNotSupported(f"the function {function}() is not supported locally; supported are "
                                      f"{', '.join(FUNCTIONS)}")
        self._take("(")
        arguments = [self._expression()]
        while self._peek() == ",":
            self._index += 1
            arguments.append(self._expression())
        self._take(")")
        pick = min if function.lower() == "min" else max
        return lambda scope: pick(_number(argument(scope)) for argument in arguments)

    def _service_variable(self, name: str) -> Expression:
        if name not in SAMPLES:
            raise FormulaNotSupported(f"the variable {name} is not supported locally; the sample variables the "
                                      f"local service computes are {', '.join(SAMPLES)}")
        if self._peek() == ".":
            self._index += 1
            method = self._take()[1]
            self._take("(")
            count = self._take()[1]
            self._take(")")
            if method != "GetSample" or count != "1":
                raise FormulaNotSupported(f"{name}.{method}({count}) is not supported locally; only "
                                          f"{name}.GetSample(1), the latest sample, is")
        return lambda scope: _read(scope, name)


def _read(scope: Mapping[str, Value], name: str) -> Value:
    if name not in scope:
        raise FormulaRuntimeError(f"the variable {name} is used before it is assigned")
    return scope[name]


def _number(value: Value) -> float:
    if isinstance(value, str):
        raise FormulaRuntimeError(f"'{value}' is not a number")
    return value


def _binary(operator: str, left: Expression, right: Expression) -> Expression:
    def apply(scope: Mapping[str, Value]) -> Value:
        a, b = _number(left(scope)), _number(right(scope))
        if operator == "+":
            return a + b
        if operator == "-":
            return a - b
        if operator == "*":
            return a * b
        if b == 0:
            raise FormulaRuntimeError("division by zero")
        return a / b
    return apply


def parse(text: str) -> Formula:
    """Parse a formula; FormulaSyntaxError or FormulaNotSupported when it cannot be evaluated here."""
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaSyntaxError(f"the formula is longer than {MAX_FORMULA_LENGTH} characters")
    return _Parser(text).formula()


def results_text(results: Mapping[str, Value]) -> str:
    """AutoScaleRun.results: `$Name=value` pairs separated by semicolons, in assignment order."""
    return ";".join(f"{name}={_format(value)}" for name, value in results.items())


def _format(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def node_targets(results: Mapping[str, Value]) -> tuple[int | None, int | None, str | None]:
    """(dedicated, low-priority, deallocation option) the formula set; None for what it left alone."""
    def count(name: str) -> int | None:
        value = results.get(name)
        return None if value is None else max(0, int(_number(value)))

    option = results.get("$NodeDeallocationOption")
    if option is not None and option not in DEALLOCATION_OPTIONS:
        raise FormulaRuntimeError(f"$NodeDeallocationOption must be one of {', '.join(DEALLOCATION_OPTIONS)}")
    return count("$TargetDedicatedNodes"), count("$TargetLowPriorityNodes"), \
        str(option) if option is not None else None
