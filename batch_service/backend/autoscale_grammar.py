"""The autoscale formula language's grammar (parsed by lark, LALR) and the syntax tree it yields. No I/O.

    formula   := statement? (';' statement?)*            at most 100 statements, at most 8192 characters
    statement := name '=' expr | expr
    expr      := or ('?' expr ':' expr)?                 the ternary; only the branch taken is evaluated
    or        := and ('||' and)*        and := compare ('&&' compare)*
    compare   := sum (('<' | '<=' | '==' | '>=' | '>' | '!=') sum)?
    sum       := product (('+' | '-') product)*          product := unary (('*' | '/') unary)*
    unary     := ('-' | '!') unary | postfix
    postfix   := atom ('.' name ('(' args? ')')?)*       methods ($X.GetSample(...)) and members (t.hour)
    atom      := number | "string" | name '(' args? ')' | name | '(' expr ')'
Names are `$`-prefixed (service-defined, or the user's own) or plain (the user's own). Comments are `// …` to
the end of the line and `/* … */`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lark

MAX_FORMULA_LENGTH = 8192  # "The formula string cannot exceed 8 KB"
MAX_STATEMENTS = 100  # "can include up to 100 statements"

_GRAMMAR = r"""
formula: [statement] (";" [statement])*
?statement: NAME "=" expr -> assign
          | expr
?expr: or_expr "?" expr ":" expr -> ternary
     | or_expr
?or_expr: or_expr "||" and_expr -> or_
        | and_expr
?and_expr: and_expr "&&" compare -> and_
         | compare
?compare: sum CMP sum -> compare
        | sum
?sum: sum ADD product -> arith
    | product
?product: product MUL unary -> arith
        | unary
?unary: "-" unary -> neg
      | "!" unary -> not_
      | postfix
?postfix: postfix "." NAME "(" [args] ")" -> method
        | postfix "." NAME -> member
        | atom
?atom: NUMBER -> number
     | STRING -> string
     | NAME "(" [args] ")" -> call
     | NAME -> var
     | "(" expr ")"
args: expr ("," expr)*
CMP: "<=" | ">=" | "==" | "!=" | "<" | ">"
ADD: "+" | "-"
MUL: "*" | "/"
NAME: /\$?[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?/
STRING: /"[^"\n]*"/
LINE_COMMENT: /\/\/[^\n]*/
BLOCK_COMMENT: /\/\*(.|\n)*?\*\//
%ignore LINE_COMMENT
%ignore BLOCK_COMMENT
%ignore /\s+/
"""
_PARSER = lark.Lark(_GRAMMAR, start="formula", parser="lalr", propagate_positions=True)


class FormulaSyntaxError(ValueError):
    """The formula does not parse; `line` and `column` (1-based) say where."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(f"Line {line}, column {column}: {message}")
        self.reason = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Node:
    """One node of the syntax tree: its kind, operator or name (`text`), children and where it starts."""

    kind: str  # assign | ternary | or | and | compare | arith | neg | not | method | member | call | var | ...
    text: str
    children: tuple[Node, ...]
    line: int
    column: int


def _node(kind: str, text: str, children: list[Any], meta: Any) -> Node:
    kept = tuple(child for child in children if isinstance(child, Node))
    return Node(kind, text, kept, getattr(meta, "line", 1), getattr(meta, "column", 1))


@lark.v_args(meta=True)
class _Build(lark.Transformer[lark.Token, Any]):
    """lark's tree to Node: operators and names go into `text`, sub-expressions into `children`."""

    def formula(self, meta: Any, items: list[Any]) -> list[Node]:
        return [item for item in items if isinstance(item, Node)]

    def assign(self, meta: Any, items: list[Any]) -> Node:
        return _node("assign", str(items[0]), items[1:], meta)

    def ternary(self, meta: Any, items: list[Any]) -> Node:
        return _node("ternary", "?", items, meta)

    def or_(self, meta: Any, items: list[Any]) -> Node:
        return _node("or", "||", items, meta)

    def and_(self, meta: Any, items: list[Any]) -> Node:
        return _node("and", "&&", items, meta)

    def compare(self, meta: Any, items: list[Any]) -> Node:
        return _node("compare", str(items[1]), [items[0], items[2]], meta)

    def arith(self, meta: Any, items: list[Any]) -> Node:
        return _node("arith", str(items[1]), [items[0], items[2]], meta)

    def neg(self, meta: Any, items: list[Any]) -> Node:
        return _node("neg", "-", items, meta)

    def not_(self, meta: Any, items: list[Any]) -> Node:
        return _node("not", "!", items, meta)

    def method(self, meta: Any, items: list[Any]) -> Node:
        arguments = items[2] if len(items) > 2 and items[2] is not None else []
        return _node("method", str(items[1]), [items[0], *arguments], meta)

    def member(self, meta: Any, items: list[Any]) -> Node:
        return _node("member", str(items[1]), [items[0]], meta)

    def call(self, meta: Any, items: list[Any]) -> Node:
        arguments = items[1] if len(items) > 1 and items[1] is not None else []
        return _node("call", str(items[0]), arguments, meta)

    def args(self, meta: Any, items: list[Any]) -> list[Node]:
        return [item for item in items if isinstance(item, Node)]

    def var(self, meta: Any, items: list[Any]) -> Node:
        return _node("var", str(items[0]), [], meta)

    def number(self, meta: Any, items: list[Any]) -> Node:
        return _node("number", str(items[0]), [], meta)

    def string(self, meta: Any, items: list[Any]) -> Node:
        return _node("string", str(items[0])[1:-1], [], meta)


def _end_of(text: str) -> tuple[int, int]:
    """(line, column) just after the last character."""
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def parse_statements(text: str) -> list[Node]:
    """The formula's statements; FormulaSyntaxError naming the line and column of the first problem."""
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaSyntaxError(f"The formula is longer than {MAX_FORMULA_LENGTH} characters.")
    try:
        tree = _PARSER.parse(text)
    except lark.exceptions.UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise FormulaSyntaxError("Unexpected end of the formula.", *_end_of(text)) from None
        raise FormulaSyntaxError(f"Unexpected '{exc.token}'.", exc.line, exc.column) from None
    except lark.exceptions.UnexpectedCharacters as exc:
        raise FormulaSyntaxError(f"Unexpected character '{exc.char}'.", exc.line,
                                 exc.column) from None
    except lark.exceptions.UnexpectedEOF:
        raise FormulaSyntaxError("Unexpected end of the formula.", *_end_of(text)) from None
    statements: list[Node] = _Build().transform(tree)
    if not statements:
        raise FormulaSyntaxError("The formula has no statement.")
    if len(statements) > MAX_STATEMENTS:
        extra = statements[MAX_STATEMENTS]
        raise FormulaSyntaxError(f"A formula has at most {MAX_STATEMENTS} statements.", extra.line, extra.column)
    return statements
