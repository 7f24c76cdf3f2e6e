"""Memory planning: tensor lifetimes -> offsets in one static arena."""

from .buffers import BufferSpec, lower_bound
from .plan import ArenaPlan, plan_arena

__all__ = ["BufferSpec", "ArenaPlan", "plan_arena", "lower_bound"]
