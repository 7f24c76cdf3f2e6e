"""Buffers to place in the arena and the lower bound any placement must respect.

A buffer may *alias* another one (``alias_of``): it lives inside the other buffer's bytes,
``alias_offset`` bytes from its start, on purpose - an in-place operator writing its output
over its input, a view. Aliases form groups around one root (a buffer that aliases nothing);
planners place only the roots, each as one block spanning the group's combined lifetime and
largest extent, and the members' offsets follow from the root's.

A buffer may instead be *anchored* to another one (``anchor``): it is placed exactly
``anchor_offset`` bytes after the other buffer's offset, but shares no bytes with it or with
anything else alive at the same time - it is checked like any other buffer. Anchors let one
region change shape over time: a storage that shrinks when an in-place result is smaller than
its input is a block for the input's steps plus an anchored, smaller block for the result's,
instead of one block as large as the input for both (a staircase rather than a rectangle).
Planners place each anchor group (a block and every block anchored to it) as one unit: an
offset is free for it when every member fits.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Sequence


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclasses.dataclass(frozen=True)
class BufferSpec:
    """A block of ``size`` bytes, alive from step ``first`` to step ``last`` (both inclusive).

    With ``alias_of`` set, the block is not placed on its own: it starts ``alias_offset`` bytes
    into buffer ``alias_of`` (which may itself be an alias), and may share bytes with the
    buffers of its alias group even while they are alive.

    With ``anchor`` set, the block starts ``anchor_offset`` bytes after buffer ``anchor`` (which
    may itself be anchored, or an alias) and must not share bytes with any buffer alive at the
    same time, the anchor included. A buffer is an alias or anchored, not both.
    """

    name: str
    size: int
    first: int
    last: int
    alias_of: str | None = None
    alias_offset: int = 0
    anchor: str | None = None
    anchor_offset: int = 0

    def __post_init__(self):
        if self.size < 0 or self.first > self.last or self.alias_offset < 0 or self.anchor_offset < 0:
            raise ValueError(f"invalid buffer {self}")
        if self.alias_of is None and self.alias_offset:
            raise ValueError(f"buffer {self.name}: alias_offset without alias_of")
        if self.anchor is None and self.anchor_offset:
            raise ValueError(f"buffer {self.name}: anchor_offset without anchor")
        if self.alias_of is not None and self.anchor is not None:
            raise ValueError(f"buffer {self.name}: both an alias and anchored")
        if self.name in (self.alias_of, self.anchor):
            raise ValueError(f"buffer {self.name} aliases or anchors to itself")

    def overlaps_in_time(self, other: "BufferSpec") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclasses.dataclass(frozen=True)
class AliasGroups:
    """Buffers resolved into alias groups.

    ``roots`` are the blocks to place: one per group, named after the group's root, with the
    group's combined lifetime and its extent (the largest ``offset-in-root + size``) as size.
    An anchored root's ``anchor`` names the unanchored root it moves with and ``anchor_offset``
    is its total offset from that root (anchor chains and anchors to aliases resolved).
    ``root_of`` maps every buffer to ``(root name, byte offset inside the root)``.
    """

    roots: tuple[BufferSpec, ...]
    root_of: dict[str, tuple[str, int]]

    @property
    def has_aliases(self) -> bool:
        return len(self.roots) != len(self.root_of)


def alias_groups(buffers: Sequence[BufferSpec]) -> AliasGroups:
    """Resolve ``alias_of`` chains and anchors; raises ValueError on unknown targets, cycles,
    duplicate names, and anchor groups whose members overlap each other (no plan can hold them)."""
    by_name = {b.name: b for b in buffers}
    if len(by_name) != len(buffers):
        raise ValueError("buffer names must be unique")
    if all(b.alias_of is None for b in buffers):  # the common case: no groups to collapse, no copies
        blocks, root_of = by_name, {b.name: (b.name, 0) for b in buffers}
    else:
        root_of = _resolve_aliases(by_name)
        members: dict[str, list[BufferSpec]] = {}
        for buffer in buffers:
            members.setdefault(root_of[buffer.name][0], []).append(buffer)
        blocks = {b.name: _group_block(b, members[b.name], root_of) for b in buffers if b.alias_of is None}
    if all(b.anchor is None for b in blocks.values()):
        return AliasGroups(tuple(blocks.values()), root_of)
    roots = tuple(block if block.anchor is None else _resolve_anchor(block, blocks, root_of)
                  for block in blocks.values())
    _check_anchor_groups(roots)
    return AliasGroups(roots, root_of)


def _resolve_aliases(by_name: dict[str, BufferSpec]) -> dict[str, tuple[str, int]]:
    root_of: dict[str, tuple[str, int]] = {}
    for start in by_name:
        name, chain = start, []
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
    return root_of


def _group_block(root: BufferSpec, group: list[BufferSpec], root_of: dict[str, tuple[str, int]]) -> BufferSpec:
    """The block a planner places for an alias group (the root itself when it is alone)."""
    if len(group) == 1:
        return root
    extent = max((root_of[m.name][1] + m.size for m in group if m.size), default=0)
    return dataclasses.replace(root, size=extent, first=min(m.first for m in group),
                               last=max(m.last for m in group))


def _resolve_anchor(block: BufferSpec, blocks: dict[str, BufferSpec],
                    root_of: dict[str, tuple[str, int]]) -> BufferSpec:
    """``block`` anchored directly to the unanchored block its anchor chain ends at."""
    target = blocks.get(block.anchor)
    if target is not None and target.anchor is None:  # already direct (as liveness makes them)
        return block
    offset, name, seen = 0, block.name, []
    while blocks[name].anchor is not None:
        if name in seen:
            raise ValueError(f"anchor cycle through buffers {', '.join(seen)}")
        seen.append(name)
        target = blocks[name].anchor
        if target not in root_of:
            raise ValueError(f"buffer {name} is anchored to unknown buffer '{target}'")
        root, inside = root_of[target]
        offset += blocks[name].anchor_offset + inside
        name = root
    return dataclasses.replace(block, anchor=name, anchor_offset=offset)


def _check_anchor_groups(roots: Sequence[BufferSpec]) -> None:
    groups: dict[str, list[tuple[BufferSpec, int]]] = {}
    for block in roots:
        if block.anchor is not None:
            groups.setdefault(block.anchor, []).append((block, block.anchor_offset))
    by_name = {block.name: block for block in roots}
    for anchor, group in groups.items():
        group.append((by_name[anchor], 0))
        for i, (a, a_offset) in enumerate(group):
            for b, b_offset in group[i + 1:]:
                if (a.size and b.size and a.overlaps_in_time(b)
                        and a_offset < b_offset + b.size and b_offset < a_offset + a.size):
                    raise ValueError(f"anchored buffers {a.name} and {b.name} overlap while both are alive")


def alive_profile(buffers: Sequence[BufferSpec], alignment: int = 1) -> list[int]:
    """Bytes alive at each step ``0 .. last``: an alias group counts once, as one block with its
    combined lifetime and extent; anchored blocks count like any other block; every block is
    rounded up to ``alignment``."""
    # Anchors do not move bytes between steps: without aliases the blocks are the buffers themselves.
    blocks = buffers if all(b.alias_of is None for b in buffers) else alias_groups(buffers).roots
    delta = [0] * (max((block.last for block in blocks), default=-1) + 2)
    for block in blocks:
        size = align_up(block.size, alignment)
        delta[block.first] += size
        delta[block.last + 1] -= size
    return list(itertools.accumulate(delta[:-1]))


def lower_bound(buffers: Sequence[BufferSpec], alignment: int = 1) -> int:
    """The largest total of bytes alive at one step (:func:`alive_profile`): no arena can be smaller.

    With ``alignment`` > 1 every block is counted rounded up to it: blocks start at aligned
    offsets (anchored ones too: their offsets are multiples of the alignment) and the arena size
    is aligned, so a block of ``s`` bytes always costs ``align_up(s)``.
    """
    return max(alive_profile(buffers, alignment), default=0)
