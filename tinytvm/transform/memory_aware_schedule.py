"""MemoryAwareSchedule: reorder independent operators to minimize the peak arena memory.

The order of independent operators (the branches of a residual block, an Inception /
SqueezeNet-fire concatenation, several model outputs) decides which activations are alive
together. This pass picks, among the legal orders of each dataflow block, one whose peak is
minimal under tinytvm's liveness model (:func:`tinytvm.memory.liveness.analyze_lifetimes`,
which the pass reuses as is):

* every tinytvm operator is one step; a value is alive from the step that produces it to the
  last step that reads it (both inclusive); a RESHAPE output (a view) and the output of an
  in-place operator share their input's storage (counted once, alive over the union);
* storages holding model inputs or outputs live in the caller's buffers and are not counted;
* optionally, a kernel's scratch buffer (``scratch(layer) -> bytes``) is alive during its step;
* the peak is the largest sum of alive storage sizes over the steps, i.e.
  :func:`tinytvm.memory.lower_bound` of the arena buffers (:func:`schedule_peak`): the smallest
  arena any offset planner can reach for that order.

Legal orders are the topological orders of the data dependencies plus write-after-read
dependencies: an in-place operator (output sharing its input's storage, not a view, e.g.
``InPlaceDepthwise``) runs after every other reader of the values it overwrites.

Assumes: tinytvm's integer-only form - operators are pure ``tinytvm.*`` extern calls with static
shapes - and unique variable names (the importers and ``lower_qdq`` produce both; the liveness
analysis is keyed by name). Normally ``main`` holds a single dataflow block; any number of
blocks is accepted, and every Relax function with tinytvm operators is scheduled.

Guarantees:

* the same bindings (the same ``Binding`` objects, hence the same variables and values); only
  their order inside each ``DataflowBlock`` changes. Non-dataflow ``BindingBlock`` s are left
  as they are, and nothing moves across a block boundary or across a ``MatchCast`` (which
  splits a block into separately scheduled segments);
* the new order is legal (values defined before use, in-place writes after the reads they
  clobber), so outputs are unchanged bit for bit;
* bindings that are not tinytvm operators (``gv = lv`` output aliases, tuples, tuple items)
  are not steps; each is placed right before its first user, or at the end of its segment (in
  original order) when nothing in the segment uses it;
* minimal peak: every *stage* - the operators between two cuts that every legal order passes
  through (a single tensor joining a residual block or a concatenation) - gets an order of
  minimal stage peak, so the function's peak is minimal too. The peak never increases;
* stable: a stage whose original order is already optimal keeps it (an optimal module is
  returned unchanged, and the pass is idempotent); otherwise, among the optimal orders, the one
  closest to the original (lexicographically smallest sequence of original positions) is chosen;
* deterministic: the result depends only on the module (no randomness, no dependence on
  object identities; ties broken by original position).

Algorithm, per stage of ``n`` operators; states are order ideals (sets of executed operators,
as bit masks):

1. Lower bound: each operator's own inputs, output and scratch are alive at its step, plus what
   lives through the whole stage. If the original order reaches it, keep it.
2. Upper bound: the best of the original order, two greedy orders (the ready operator with the
   smallest step memory, resp. the least memory left alive; ties by position) and a beam search
   over ideals (``BEAM_WIDTH`` states per depth, ranked by peak so far, then resident memory).
3. Exact search: a minimax (bottleneck) Dijkstra over ideals, from "nothing executed" to
   "everything executed", where the weight of running ``v`` after ``X`` is the memory alive
   during that step. States are popped by their peak so far, so only states reachable below the
   optimum (and below the upper bound) are expanded. Dominance pruning: an operator that frees
   at least what it allocates and whose step fits under max(peak so far, lower bound) is run at
   once (an exchange argument shows that some optimal completion starts with it).
4. Among the optimal orders, a depth-first search at the optimal peak that tries the ready
   operators in original order returns the one closest to the original.

Chain-like CNNs collapse: every layer of a chain is a stage of one operator (nothing to
search), and a residual / Inception block is one stage with ``(L + 1) ** k`` ideals at most for
``k`` branches of ``L`` operators.

Exactness limit: a stage's result is proven optimal (``ScheduleReport.exact``) whenever its
search expands at most ``max_states`` states (default 10,000, at 20-60 us each: <= ~0.5 s per
stage). That includes every stage of up to 13 operators and every residual / concatenation
block of up to 4 branches of 8 operators (or 6 branches of 3), in networks of any depth. Beyond
it, the best order of step 2 is used (the beam search found the optimum on all the wide test
graphs whose optimum is known), reported with ``exact=False``.
"""

from __future__ import annotations

import dataclasses
import heapq
from typing import Callable, Optional, Sequence

import tvm
from tvm import relax

from ..errors import TinyTVMError
from ..ir.graph import Layer
from ..ir.op import kernel_name
from ..memory.buffers import BufferSpec, lower_bound
from ..memory.liveness import VIEW_KERNELS, Lifetimes, analyze_lifetimes

__all__ = ["MemoryAwareSchedule", "ScheduleReport", "schedule_peak", "memory_aware_schedule"]

#: Default budget of search states per stage (see the module docstring).
DEFAULT_MAX_STATES = 10_000

#: States kept per depth by the beam search that gives the upper bound (and the order beyond the budget).
BEAM_WIDTH = 32

Scratch = Callable[[Layer], int]


@dataclasses.dataclass(frozen=True)
class ScheduleReport:
    """What the pass did to one function."""

    function: str
    peak_before: int  # bytes, liveness model of the original order
    peak_after: int  # bytes, same model, new order
    lower_bound: int  # no legal order goes below this (max over stages of the stage lower bounds)
    exact: bool  # True if peak_after is proven minimal over all legal orders
    states: int  # search states expanded (all stages)
    changed: bool  # the bindings were reordered

    @property
    def saved(self) -> int:
        return self.peak_before - self.peak_after


# -- the liveness model of one function ------------------------------------------------------------
def schedule_peak(mod: tvm.IRModule, function: str = "main", scratch: Optional[Scratch] = None) -> int:
    """Peak bytes alive in the arena for the current order of ``function`` (liveness model above).

    Equals :func:`tinytvm.memory.lower_bound` of the arena storages (plus one scratch buffer per
    layer at its step when ``scratch`` is given): the smallest arena a planner can reach.
    """
    lifetimes = analyze_lifetimes(mod, function)
    buffers = [storage.spec() for storage in lifetimes.arena_storages]
    if scratch is not None:
        for step, layer in enumerate(lifetimes.layers):
            size = int(scratch(layer))
            if size:
                buffers.append(BufferSpec(f"scratch{step}", size, step, step))
    return lower_bound(buffers)


@dataclasses.dataclass
class _Storage:
    size: int
    steps: list[int]  # steps (original order) of the operators producing or reading it


def _operands(lifetimes: Lifetimes) -> list[list[str]]:
    """Per step: the names of the layer's output and of its activation inputs."""
    return [[layer.var.name] + [value.name for value in layer.activation_inputs] for layer in lifetimes.layers]


def _storages(lifetimes: Lifetimes, operands: list[list[str]]) -> list[_Storage]:
    """Arena storages (external ones and empty ones left out) with the steps that produce or read them."""
    index = {}
    storages: list[_Storage] = []
    for storage in lifetimes.arena_storages:
        if storage.size:
            index[storage.name] = len(storages)
            storages.append(_Storage(storage.size, []))
    for step, names in enumerate(operands):
        touched = set()
        for name in names:
            k = index.get(lifetimes.storage_of.get(name))
            if k is not None and k not in touched:
                touched.add(k)
                storages[k].steps.append(step)
    return storages


# -- one stage: n operators to order -------------------------------------------------------------
class _Stage:
    """The scheduling problem of ``n`` operators (local ids = original order).

    A storage is alive during the step of ``v`` (executed after the set ``X``) iff it started
    before the stage or one of its operators is in ``X + v``, and it continues after the
    stage or one of its operators is not in ``X``. ``resident(X)`` is the memory alive between
    steps; the step memory of ``v`` adds what ``v`` starts and its scratch.
    """

    def __init__(self, preds: list[int], effects: list[list[tuple[int, int, bool, bool]]],
                 scratch: list[int], resident0: int, base_bound: int):
        self.n = len(preds)
        self.full = (1 << self.n) - 1
        self.preds = preds  # bit mask of the operators each one depends on
        self.succs = [[w for w in range(self.n) if (preds[w] >> v) & 1] for v in range(self.n)]
        self.effects = effects  # per operator: (mask of the storage's operators, size, pre, post)
        self.scratch = scratch
        self.resident0 = resident0
        self.base_bound = base_bound  # memory alive through the whole stage
        self.states = 0
        self.beam_width = BEAM_WIDTH

    # -- model ---------------------------------------------------------------------------------
    def step(self, done: int, resident: int, v: int) -> tuple[int, int]:
        """(memory during the step of v, memory alive after it) from state ``done``."""
        after_mask = done | (1 << v)
        during = resident + self.scratch[v]
        after = resident
        for mask, size, pre, post in self.effects[v]:
            was = pre or (mask & done) != 0
            stays = post or (mask & ~after_mask) != 0
            if not was:
                during += size
                if stays:
                    after += size
            elif not stays:
                after -= size
        return during, after

    def ready(self, done: int) -> list[int]:
        preds = self.preds
        return [v for v in range(self.n) if not (done >> v) & 1 and preds[v] & ~done == 0]

    def advance(self, ready: list[int], v: int, done_after: int) -> list[int]:
        """The ready operators after running ``v`` (``ready`` before it; ``done_after`` includes v)."""
        preds = self.preds
        new = [w for w in ready if w != v] + [w for w in self.succs[v] if preds[w] & ~done_after == 0]
        new.sort()
        return new

    def peak(self, order: Sequence[int]) -> int:
        done, resident, peak = 0, self.resident0, self.resident0 if self.n == 0 else 0
        for v in order:
            during, resident = self.step(done, resident, v)
            peak = max(peak, during)
            done |= 1 << v
        return peak

    def lower_bound(self) -> int:
        best = 0
        for v in range(self.n):
            own = sum(size for _, size, _, _ in self.effects[v])
            best = max(best, self.base_bound + own + self.scratch[v])
        return best

    # -- heuristics ------------------------------------------------------------------------------
    def greedy(self, key: Callable[[int, int, int], tuple]) -> list[int]:
        """Repeatedly run the ready operator minimizing ``key(step memory, memory after, v)``."""
        done, resident, order = 0, self.resident0, []
        while done != self.full:
            best = None
            for v in self.ready(done):
                during, after = self.step(done, resident, v)
                candidate = (key(during, after, v), v, after)
                if best is None or candidate < best:
                    best = candidate
            _, v, resident = best
            order.append(v)
            done |= 1 << v
        return order

    def beam(self, width: int) -> list[int]:
        """Beam search over order ideals: per depth keep the ``width`` states with the lowest
        (peak so far, resident memory); the best complete order."""
        level = {0: (0, self.resident0, self.ready(0), [])}
        for _ in range(self.n):
            following: dict[int, tuple] = {}
            for done, (peak, r, ready, order) in level.items():
                for v in ready:
                    during, after = self.step(done, r, v)
                    nxt = done | (1 << v)
                    key = (max(peak, during), after)
                    known = following.get(nxt)
                    if known is None or key < known[:2]:
                        following[nxt] = (key[0], after, (ready, v), order + [v])
            kept = sorted(following.items(), key=lambda item: (item[1][0], item[1][1], item[0]))[:width]
            level = {done: (peak, r, self.advance(parent_ready, v, done), order)
                     for done, (peak, r, (parent_ready, v), order) in kept}
        return level[self.full][3]

    # -- exact search ----------------------------------------------------------------------------
    def minimax(self, bound: int, floor: int, budget: int) -> tuple[Optional[int], Optional[list[int]], bool]:
        """Bottleneck Dijkstra over order ideals, only through steps below ``bound``.

        Returns (optimal peak, an order reaching it, complete): peak None and complete True
        proves no order stays below ``bound``; complete False means the budget ran out.
        """
        best = {0: 0}
        # state -> (resident memory, ready operators of the parent state, last operator run)
        info: dict[int, tuple[int, list[int], int]] = {0: (self.resident0, self.ready(0), -1)}
        parent: dict[int, tuple[int, int]] = {}
        heap = [(0, 0, 0)]
        while heap:
            peak, _, done = heapq.heappop(heap)
            if peak > best[done]:
                continue
            if done == self.full:
                order = []
                while done:
                    done, v = parent[done]
                    order.append(v)
                return peak, order[::-1], True
            self.states += 1
            if self.states > budget:
                return None, None, False
            r, ready, last = info[done]
            if last >= 0:
                ready = self.advance(ready, last, done)
            moves = [(v,) + self.step(done, r, v) for v in ready]
            for v, during, after in moves:
                if after <= r and during <= max(peak, floor):  # frees what it allocates and fits: run it now
                    moves = [(v, during, after)]
                    break
            for v, during, after in moves:
                if during >= bound:
                    continue
                new_peak = max(peak, during)
                nxt = done | (1 << v)
                if new_peak < best.get(nxt, bound):
                    best[nxt] = new_peak
                    info[nxt] = (after, ready, v)
                    parent[nxt] = (done, v)
                    heapq.heappush(heap, (new_peak, -nxt.bit_count(), nxt))
        return None, None, True

    def closest(self, peak: int, budget: int) -> Optional[list[int]]:
        """The lexicographically smallest order (by original position) whose peak is <= ``peak``."""
        dead: set[int] = set()
        order: list[int] = []
        # frames: [done, resident, ready operators, next candidate position]
        stack = [[0, self.resident0, self.ready(0), 0]]
        while stack:
            frame = stack[-1]
            done, r, ready, k = frame
            if done == self.full:
                return order
            if k == 0:
                self.states += 1
                if self.states > budget:
                    return None
            while k < len(ready):
                v = ready[k]
                k += 1
                nxt = done | (1 << v)
                if nxt in dead:
                    continue
                during, after = self.step(done, r, v)
                if during <= peak:
                    frame[3] = k
                    order.append(v)
                    stack.append([nxt, after, self.advance(ready, v, nxt), 0])
                    break
            else:
                dead.add(done)
                stack.pop()
                if order:
                    order.pop()
        return None

    def solve(self, budget: int) -> tuple[list[int], int, int, bool]:
        """(order, its peak, lower bound, exact) minimizing the peak, closest to the original."""
        original = list(range(self.n))
        original_peak = self.peak(original)
        bound = self.lower_bound()
        if original_peak <= bound or self.n <= 1:
            return original, original_peak, bound, True
        candidates = [(original_peak, 0, original)]
        for rank, key in enumerate((lambda d, a, v: (d, a), lambda d, a, v: (a, d))):
            order = self.greedy(key)
            candidates.append((self.peak(order), rank + 1, order))
        if self.beam_width:
            order = self.beam(self.beam_width)
            candidates.append((self.peak(order), 3, order))
        upper, _, heuristic = min(candidates, key=lambda c: (c[0], c[1]))
        optimum, found, complete = (upper, heuristic, True) if upper <= bound else self.minimax(upper, bound, budget)
        if not complete:
            return heuristic, upper, bound, False
        if optimum is None:  # nothing below the upper bound: the best heuristic order is optimal
            optimum, found = upper, heuristic
        if optimum == original_peak:
            return original, original_peak, bound, True
        closest = self.closest(optimum, budget + self.states)
        return (closest if closest is not None else found), optimum, bound, True


# -- module plumbing --------------------------------------------------------------------------------
def _used_vars(expr: relax.Expr, out: list) -> None:
    if isinstance(expr, relax.Var):
        out.append(expr)
    elif isinstance(expr, relax.Call):
        if isinstance(expr.op, relax.Var):
            out.append(expr.op)
        for arg in expr.args:
            _used_vars(arg, out)
    elif isinstance(expr, relax.Tuple):
        for field in expr.fields:
            _used_vars(field, out)
    elif isinstance(expr, relax.TupleGetItem):
        _used_vars(expr.tuple_value, out)
    elif isinstance(expr, (tvm.ir.Constant, relax.ExternFunc, tvm.ir.GlobalVar, tvm.ir.Op)):
        return
    else:
        out.extend(relax.analysis.free_vars(expr))


def _ancestors(preds: list[int]) -> list[int]:
    """Transitive closure of dependency masks over operators in a topological order."""
    ancestors: list[int] = []
    for v in range(len(preds)):
        mask, rest = preds[v], preds[v]
        while rest:
            low = rest & -rest
            mask |= ancestors[low.bit_length() - 1]
            rest ^= low
        ancestors.append(mask)
    return ancestors


def _overwrites(lifetimes: Lifetimes, operands: list[list[str]]) -> dict[int, list[int]]:
    """For each in-place operator (its output shares its input's storage and it is not a view), the
    other steps that produce or read a value of that storage: the readers of the overwritten values
    among them must run before it."""
    touching: dict[str, list[int]] = {}
    for step, names in enumerate(operands):
        for name in names:
            storage = lifetimes.storage_of.get(name)
            if storage is not None and step not in touching.setdefault(storage, []):
                touching[storage].append(step)
    result = {}
    for step, (layer, names) in enumerate(zip(lifetimes.layers, operands)):
        if layer.kernel in VIEW_KERNELS or len(names) < 2:
            continue
        storage = lifetimes.storage_of.get(names[0])
        if storage is not None and storage == lifetimes.storage_of.get(names[1]):
            result[step] = [other for other in touching[storage] if other != step]
    return result


def _stages(preds: list[int]) -> list[tuple[int, int]]:
    """Split operators 0..n-1 (original order, ``preds`` = direct dependency masks) into stages
    [start, end) at the cuts every topological order goes through: position p is a cut when each
    operator before p is an ancestor of each operator from p on."""
    n = len(preds)
    ancestors = _ancestors(preds)
    cuts, common = [n], -1  # common: operators that are ancestors of every operator from p on
    for p in range(n - 1, 0, -1):
        common &= ancestors[p]
        if ((1 << p) - 1) & ~common == 0:
            cuts.append(p)
    cuts.append(0)
    cuts.reverse()
    return [(cuts[k], cuts[k + 1]) for k in range(len(cuts) - 1) if cuts[k] < cuts[k + 1]]


def _segments(func: relax.Function) -> list[tuple[int, int, int]]:
    """(block index, first binding, end binding) of each run of VarBindings inside a DataflowBlock."""
    result = []
    for b, block in enumerate(func.body.blocks):
        if not isinstance(block, relax.DataflowBlock):
            continue
        start = 0
        for i, binding in enumerate(block.bindings):
            if not isinstance(binding, relax.VarBinding):
                if i > start:
                    result.append((b, start, i))
                start = i + 1
        if len(block.bindings) > start:
            result.append((b, start, len(block.bindings)))
    return result


def _check_unique_names(func: relax.Function, name: str) -> None:
    seen = {p.name for p in func.params}
    if len(seen) != len(func.params):
        raise TinyTVMError(f"{name}: parameter names repeat; MemoryAwareSchedule needs unique names")
    for block in func.body.blocks:
        for binding in block.bindings:
            if binding.var.name in seen:
                raise TinyTVMError(
                    f"{name}: the name '{binding.var.name}' is bound twice; MemoryAwareSchedule (like the liveness "
                    "analysis) keys values by name - name the layers first (the importers do)")
            seen.add(binding.var.name)


class _FunctionScheduler:
    def __init__(self, mod: tvm.IRModule, name: str, scratch: Optional[Scratch], max_states: int):
        self.mod, self.name, self.max_states = mod, name, max_states
        self.func = mod[name]
        _check_unique_names(self.func, name)
        self.lifetimes = analyze_lifetimes(mod, name)
        operands = _operands(self.lifetimes)
        self.storages = _storages(self.lifetimes, operands)
        self.scratch = [int(scratch(layer)) if scratch else 0 for layer in self.lifetimes.layers]
        self.step_of: dict[relax.Var, int] = {}  # op binding var -> step in the original order
        step = 0
        for block in self.func.body.blocks:
            for binding in block.bindings:
                if kernel_name(binding.value) is not None:
                    self.step_of[binding.var] = step
                    step += 1
        if step != len(self.lifetimes.layers):
            raise TinyTVMError(f"{name}: operator bindings and liveness layers disagree")
        self.overwrites = _overwrites(self.lifetimes, operands)

    def run(self) -> tuple[relax.Function, ScheduleReport]:
        blocks = list(self.func.body.blocks)
        new_bindings = {b: list(block.bindings) for b, block in enumerate(blocks)}
        exact, states, changed, lower = True, 0, False, 0
        for b, start, end in _segments(self.func):
            bindings = list(blocks[b].bindings[start:end])
            ordered, seg_exact, seg_states, seg_bound = self._schedule(bindings)
            exact &= seg_exact
            states += seg_states
            lower = max(lower, seg_bound)
            if any(not x.same_as(y) for x, y in zip(ordered, bindings)):
                changed = True
                new_bindings[b][start:end] = ordered
        steps = range(len(self.scratch))
        before = self._peak(list(steps))
        if not changed:
            return self.func, ScheduleReport(self.name, before, before, lower, exact, states, False)
        new_order = [self.step_of[binding.var] for b in range(len(blocks)) for binding in new_bindings[b]
                     if binding.var in self.step_of]
        after = self._peak(new_order)
        if after > before:  # cannot happen: the search never accepts a worse order
            raise TinyTVMError(f"{self.name}: MemoryAwareSchedule raised the peak from {before} to {after}")
        new_blocks = [relax.DataflowBlock(new_bindings[b]) if isinstance(block, relax.DataflowBlock)
                      else block for b, block in enumerate(blocks)]
        body = relax.SeqExpr(new_blocks, self.func.body.body)
        func = relax.Function(self.func.params, body, self.func.ret_ty, self.func.is_pure, self.func.attrs,
                              self.func.span)
        func = relax.BlockBuilder().normalize(func)  # types of the new SeqExpr
        return func, ScheduleReport(self.name, before, after, lower, exact, states, True)

    def _peak(self, order: list[int]) -> int:
        """:func:`schedule_peak` of the function with its operators run in ``order`` (original steps)."""
        position = [0] * len(order)
        for k, step in enumerate(order):
            position[step] = k
        buffers = []
        for k, storage in enumerate(self.storages):
            if not storage.steps:
                continue
            at = [position[step] for step in storage.steps]
            buffers.append(BufferSpec(f"s{k}", storage.size, min(at), max(at)))
        buffers += [BufferSpec(f"scratch{step}", size, position[step], position[step])
                    for step, size in enumerate(self.scratch) if size]
        return lower_bound(buffers)

    def _schedule(self, bindings: list[relax.Binding]) -> tuple[list[relax.Binding], bool, int, int]:
        position = {binding.var: i for i, binding in enumerate(bindings)}
        ops = [i for i, binding in enumerate(bindings) if binding.var in self.step_of]
        local = {i: k for k, i in enumerate(ops)}
        # Dependencies inside the segment: direct binding deps, and op deps through non-op bindings.
        deps: list[list[int]] = []
        op_deps: list[int] = []
        for i, binding in enumerate(bindings):
            used: list = []
            _used_vars(binding.value, used)
            direct = sorted({position[var] for var in used if var in position and position[var] < i})
            deps.append(direct)
            mask = 0
            for d in direct:
                mask |= (1 << local[d]) if d in local else op_deps[d]
            op_deps.append(mask)
        preds = [op_deps[i] for i in ops]
        steps = [self.step_of[bindings[i].var] for i in ops]
        # Write-after-read: an in-place operator runs after every other reader of the storage it overwrites.
        data_ancestors = _ancestors(preds)
        local_of_step = {step: k for k, step in enumerate(steps)}
        for k, step in enumerate(steps):
            for other in self.overwrites.get(step, ()):
                u = local_of_step.get(other)
                if u is not None and u != k and not (data_ancestors[u] >> k) & 1:
                    preds[k] |= 1 << u
        order: list[int] = []
        exact, states, bound = True, 0, 0
        for start, end in _stages(preds):
            width = (1 << (end - start)) - 1
            stage = self._stage(steps[start:end], [(m >> start) & width for m in preds[start:end]])
            stage_order, _, stage_bound, stage_exact = stage.solve(self.max_states)
            order += [start + k for k in stage_order]
            exact &= stage_exact
            states += stage.states
            bound = max(bound, stage_bound)
        if order == list(range(len(ops))):
            return bindings, exact, states, bound
        return self._place(bindings, deps, [ops[k] for k in order]), exact, states, bound

    def _stage(self, steps: list[int], preds: list[int]) -> _Stage:
        first, last = (min(steps), max(steps)) if steps else (0, -1)
        local = {step: k for k, step in enumerate(steps)}
        effects: list[list[tuple[int, int, bool, bool]]] = [[] for _ in steps]
        resident0 = base = 0
        for storage in self.storages:
            pre = storage.steps[0] < first
            post = storage.steps[-1] > last
            inside = [local[s] for s in storage.steps if first <= s <= last]
            if pre and post:  # alive through the whole stage, whatever the order
                resident0 += storage.size
                base += storage.size
                continue
            if not inside:
                continue
            if pre:
                resident0 += storage.size
            mask = 0
            for k in inside:
                mask |= 1 << k
            for k in inside:
                effects[k].append((mask, storage.size, pre, post))
        scratch = [self.scratch[s] for s in steps]
        return _Stage(preds, effects, scratch, resident0, base)

    @staticmethod
    def _place(bindings, deps, op_order: list[int]) -> list[relax.Binding]:
        """Operators in ``op_order``; every other binding right before its first user (else at the end)."""
        emitted = [False] * len(bindings)
        result = []

        def emit_with_deps(i):
            pending, stack = [], [i]
            while stack:
                j = stack.pop()
                if emitted[j] or j in pending:
                    continue
                pending.append(j)
                stack.extend(deps[j])
            for j in sorted(pending):  # original order is topological
                emitted[j] = True
                result.append(bindings[j])

        for i in op_order:
            emit_with_deps(i)
        for i in range(len(bindings)):
            if not emitted[i]:
                emit_with_deps(i)
        return result


def memory_aware_schedule(mod: tvm.IRModule, max_states: int = DEFAULT_MAX_STATES,
                          scratch: Optional[Scratch] = None) -> tuple[tvm.IRModule, dict[str, ScheduleReport]]:
    """Run the scheduling on every Relax function with tinytvm operators; (new module, reports by function)."""
    reports: dict[str, ScheduleReport] = {}
    updates = {}
    for gv, func in mod.functions.items():
        if not isinstance(func, relax.Function) or not isinstance(func.body, relax.SeqExpr):
            continue
        if not any(kernel_name(b.value) is not None for blk in func.body.blocks for b in blk.bindings):
            continue
        new_func, report = _FunctionScheduler(mod, gv.name_hint, scratch, max_states).run()
        reports[gv.name_hint] = report
        if report.changed:
            updates[gv] = new_func
    if not updates:
        return mod, reports
    result = tvm.IRModule(dict(mod.functions), attrs=mod.attrs, global_infos=mod.global_infos)
    for gv, func in updates.items():
        result[gv] = func
    return result, reports


@tvm.ir.transform.module_pass(opt_level=0, name="tinytvm.MemoryAwareSchedule")
class MemoryAwareSchedule:
    """Reorder each dataflow block's operators to minimize the peak arena memory (see module docs).

    ``max_states`` bounds the exact search per stage (beyond it: the best heuristic order);
    ``scratch(layer) -> bytes`` adds each kernel's scratch buffer at its step (default: none).
    After a run, ``reports`` maps each function name to its :class:`ScheduleReport`.
    """

    def __init__(self, max_states: int = DEFAULT_MAX_STATES, scratch: Optional[Scratch] = None):
        self.max_states = max_states
        self.scratch = scratch
        self.reports: dict[str, ScheduleReport] = {}

    def transform_module(self, mod: tvm.IRModule, ctx) -> tvm.IRModule:
        result, self.reports = memory_aware_schedule(mod, self.max_states, self.scratch)
        return result
