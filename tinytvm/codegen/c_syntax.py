"""Small structured emitters for C declarations (no string soup in the code generator).

Everything renders deterministically: the same records give byte-identical text.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence, Union

import numpy as np

CValue = Union[int, float, str, "CStruct", "CList", "Expr"]

C_TYPES = {
    "int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "uint8": "uint8_t", "float32": "float",
}


@dataclasses.dataclass(frozen=True)
class Expr:
    """A C expression written verbatim (a pointer, a macro, an address)."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclasses.dataclass(frozen=True)
class CStruct:
    """A designated initializer ``{ .field = value, ... }`` (fields in declaration order)."""

    fields: Mapping[str, CValue]

    def render(self, indent: int = 0) -> str:
        pad = " " * (indent + 2)
        lines = [f"{pad}.{name} = {render_value(value, indent + 2)}," for name, value in self.fields.items()]
        return "{\n" + "\n".join(lines) + "\n" + " " * indent + "}"


@dataclasses.dataclass(frozen=True)
class CList:
    """A brace-enclosed list ``{a, b, c}`` (an array member's initializer)."""

    items: tuple

    def render(self) -> str:
        return "{" + ", ".join(render_value(item) for item in self.items) + "}"


def render_value(value: CValue, indent: int = 0) -> str:
    if isinstance(value, CStruct):
        return value.render(indent)
    if isinstance(value, CList):
        return value.render()
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return _int_literal(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value)!r}f" if np.isfinite(value) else "0.0f"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"cannot render {value!r} as C")


def _int_literal(value: int) -> str:
    # INT32_MIN has no literal form; write it as an expression.
    if value == -(2**31):
        return "(-2147483647 - 1)"
    return str(value)


@dataclasses.dataclass(frozen=True)
class CArray:
    """A static array definition, ``static const int8_t name[N] = {...};``."""

    name: str
    dtype: str  # numpy dtype name
    values: np.ndarray
    const: bool = True
    alignment: int = 16
    section: str | None = None

    @property
    def c_type(self) -> str:
        return C_TYPES[self.dtype]

    @property
    def nbytes(self) -> int:
        return int(self.values.size * np.dtype(self.dtype).itemsize)

    def render(self, per_line: int = 24) -> str:
        flat = [render_value(v) for v in np.asarray(self.values).reshape(-1).tolist()]
        rows = [", ".join(flat[i:i + per_line]) for i in range(0, len(flat), per_line)] or ["0"]
        attributes = [f"aligned({self.alignment})"]
        if self.section:
            attributes.append(f'section("{self.section}")')
        qualifier = "static const" if self.const else "static"
        body = ",\n  ".join(rows)
        return (f"{qualifier} {self.c_type} {self.name}[{max(1, self.values.size)}] "
                f"__attribute__(({', '.join(attributes)})) = {{\n  {body}\n}};")


def render_call(function: str, arguments: Sequence[CValue]) -> str:
    return f"{function}({', '.join(render_value(a) for a in arguments)});"
