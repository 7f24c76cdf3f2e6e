"""Buffers to place in the arena and the lower bound any placement must respect.

A buffer may *alias* another one (``alias_of``): it lives inside the other buffer's bytes,
``alias_offset`` bytes from its start, on purpose - an in-place operator writing its output
over its input, a view. Aliases form groups around one root (a buffer that aliases nothing);
planners place only the roots, each as one block spanning the group's combined lifetime and
largest extent, and the members' offsets follow from the root's.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclasses.dataclass(frozen=True)
class BufferSpec:
    """A block of ``size`` bytes, alive from step ``first`` to step ``last`` (both inclusive).

    With ``alias_of`` set, the block is not placed on its own: it starts ``alias_offset`` bytes
    into buffer ``alias_of`` (which may itself be an alias), and may share bytes with the
    buffers of its alias group even while they are alive.
    """

    name: str
    size: int
    first: int
    last: int
    alias_of: str | None = None
    alias_offset: int = 0

    def __post_init__(self):
        if self.size < 0 or self.first > self.last or self.alias_offset < 0:
            raise ValueError(f"invalid buffer {self}")
        if self.alias_of is None and self.alias_offset:
            raise ValueError(f"buffer {self.name}: alias_offset without alias_of")
        if self.alias_of == self.name:
            raise ValueError(f"buffer {self.name} aliases itself")

    def overlaps_in_time(self, other: "BufferSpec") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclasses.dataclass(frozen=True)
class AliasGroups:
    """Buffers resolved into alias groups.

    ``roots`` are the blocks to place: one per group, named after the group's root, with the
    group's combined lifetime and its extent (the largest ``offset-in-root + size``) as size.
    ``root_of`` maps every buffer to ``(root name, byte offset inside the root)``.
    """

    roots: tuple[BufferSpec, ...]
    root_of: dict[str, tuple[str, int]]

    @property
    def has_aliases(self) -> bool:
        return len(self.roots) != len(self.root_of)


def alias_groups(buffers: Sequence[BufferSpec]) -> AliasGroups:
    """Resolve ``alias_of`` chains; raises ValueError on unknown targets, cycles or duplicate names."""
    by_name = {b.name: b for b in buffers}
    if len(by_name) != len(buffers):
        raise ValueError("buffer names must be unique")
    if all(b.alias_of is None for b in buffers):  # the common case: no work, no copies
        return AliasGroups(tuple(buffers), {b.name: (b.name, 0) for b in buffers})
    root_of: dict[str, tuple[str, int]] = {}

    def resolve(name: str) -> tuple[str, int]:
        chain = []
        while name not in root_of:
            buffer = by_name.get(name)
            if buffer is None:
                raise ValueError(f"buffer {chain[-1]} aliases unknown buffer '{name}'")
            if buffer.alias_of is None:
                root_of[name] = (name, 0)
                break
            if name in chain:
                raise ValueError(f"alias cycle through buffers {', '.join(chain)}")
            chain.append(name)
            name = buffer.alias_of
        root, offset = root_of[name]
        for member in reversed(chain):
            offset += by_name[member].alias_offset
            root_of[member] = (root, offset)
        return root_of[chain[0]] if chain else root_of[name]

    members: dict[str, list[BufferSpec]] = {}
    for buffer in buffers:
        members.setdefault(resolve(buffer.name)[0], []).append(buffer)
    roots = []
    for buffer in buffers:
        if buffer.alias_of is not None:
            continue
        group = members[buffer.name]
        if len(group) == 1:
            roots.append(buffer)
            continue
        extent = max(root_of[m.name][1] + m.size for m in group if m.size) if any(m.size for m in group) else 0
        roots.append(BufferSpec(buffer.name, extent, min(m.first for m in group), max(m.last for m in group)))
    return AliasGroups(tuple(roots), root_of)


def lower_bound(buffers: Sequence[BufferSpec], alignment: int = 1) -> int:
    """The largest total of bytes alive at one step: no arena can be smaller.

    An alias group counts once, as one block with its combined lifetime and extent. With
    ``alignment`` > 1 every block is counted rounded up to it: blocks start at aligned offsets
    and the arena size is aligned, so a block of ``s`` bytes always costs ``align_up(s)``.
    """
    if not buffers:
        return 0
    events: dict[int, int] = {}
    for buffer in alias_groups(buffers).roots:
        size = align_up(buffer.size, alignment)
        events[buffer.first] = events.get(buffer.first, 0) + size
        events[buffer.last + 1] = events.get(buffer.last + 1, 0) - size
    alive = peak = 0
    for step in sorted(events):
        alive += events[step]
        peak = max(peak, alive)
    return peak
