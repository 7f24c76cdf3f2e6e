"""Typed records for tinytvm's integer-only operators and their Relax encoding.

An integer-only operator is a pure call to an extern function named
``tinytvm.<kernel>``: the tensor operands are the call's arguments (activations
first, then constants such as weights, bias and per-channel requantization
multipliers) and every scalar parameter is a named attribute of the call::

    lv = R.call_packed("tinytvm.conv2d", x, w, b, mult, shift,
                       stride=[1, 1], input_zp=-128, ..., ty_args=R.Tensor(...))

Each kernel has an :class:`OpRecord` dataclass whose fields are exactly those
attributes. Passes, the reference executor and code generation decode calls
into records (:func:`decode`) instead of reading magic attribute names.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Iterable, Sequence

import tvm
from tvm import relax

KERNEL_PREFIX = "tinytvm."

_REGISTRY: dict[str, type["OpRecord"]] = {}


@dataclasses.dataclass(frozen=True)
class OpRecord:
    """Base of all operator records. Subclasses are frozen dataclasses of scalars/tuples."""

    KERNEL: ClassVar[str] = ""
    #: Names of the tensor operands, in call order. A trailing ``*`` marks a variadic operand.
    OPERANDS: ClassVar[tuple[str, ...]] = ("data",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.KERNEL:
            _REGISTRY[cls.KERNEL] = cls

    # -- cost model ---------------------------------------------------------------------------
    def macs(self, in_shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
        """Multiply-accumulates of one execution; element-wise ops count one per output element."""
        del in_shapes
        return 0 if not out_shape else math.prod(out_shape)

    # -- Relax encoding -----------------------------------------------------------------------
    def attrs(self) -> dict:
        return {f.name: _to_attr(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def call(self, operands: Sequence[relax.Expr], out_type: relax.Type) -> relax.Call:
        """The pure extern call encoding this operator applied to ``operands``."""
        callee = relax.ExternFunc(
            KERNEL_PREFIX + self.KERNEL, relax.FuncType.opaque_func(ret=out_type, purity=True)
        )
        attrs = tvm.ir.make_node("ir.DictAttrs", **self.attrs())
        return relax.Call(callee, list(operands), attrs, [out_type])

    @classmethod
    def from_attrs(cls, attrs) -> "OpRecord":
        values = {}
        present = dict(attrs.items())  # one walk over the FFI map, not one per field
        for field in dataclasses.fields(cls):
            if field.name in present:
                values[field.name] = _from_attr(present[field.name])
            elif field.default is dataclasses.MISSING:
                raise ValueError(f"tinytvm.{cls.KERNEL} call lacks attribute '{field.name}'")
        return cls(**values)

    def replace(self, **changes) -> "OpRecord":
        return dataclasses.replace(self, **changes)


def _to_attr(value):
    if isinstance(value, tuple):
        return [_to_attr(v) for v in value]
    return value


def _from_attr(value):
    if isinstance(value, (tvm.ir.Array, list, tuple)):
        return tuple(_from_attr(v) for v in value)
    if isinstance(value, tvm.ir.StringImm):
        return value.value
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):
        return value.value
    return value


def kernel_name(call: relax.Expr) -> str | None:
    """The tinytvm kernel a Relax expression calls, or None if it is not a tinytvm op."""
    if not isinstance(call, relax.Call) or not isinstance(call.op, relax.ExternFunc):
        return None
    symbol = str(call.op.global_symbol)
    if not symbol.startswith(KERNEL_PREFIX):
        return None
    return symbol[len(KERNEL_PREFIX):]


def is_tinytvm_op(expr: relax.Expr, kernel: str | None = None) -> bool:
    name = kernel_name(expr)
    return name is not None and (kernel is None or name == kernel)


def decode(call: relax.Call) -> OpRecord:
    """The record of a ``tinytvm.*`` call."""
    name = kernel_name(call)
    if name is None or name not in _REGISTRY:
        raise ValueError(f"not a tinytvm operator call: {call.op}")
    return _REGISTRY[name].from_attrs(call.attrs)


def registered_kernels() -> Iterable[str]:
    return sorted(_REGISTRY)


def record_class(kernel: str) -> type[OpRecord]:
    return _REGISTRY[kernel]
