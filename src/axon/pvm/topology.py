"""The wiring of a PVM hierarchy: which units feed which (signal) and which units'
previous hidden states each unit receives as context.

Units have global ids: layer by layer, row-major within a layer's square grid. Each
source is sent once unless `context.top_twice` (the original's duplicated top context)
asks otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from axon.pvm.config import PVMConfig

LATERAL, FEEDBACK, TWO_BACK, TOP = 0, 1, 2, 3
GROUP_NAMES = {LATERAL: "lateral", FEEDBACK: "feedback", TWO_BACK: "two_back", TOP: "top"}


@dataclass
class LayerTopology:
    """One layer. `children[i]` lists the local ids (in the layer below) whose hidden
    states form unit i's signal, in block raster order (empty for layer 0).
    `context[i]` lists `(global_id, group)` pairs in input order."""

    index: int
    side: int
    offset: int
    signal_size: int
    children: list[list[int]]
    context: list[list[tuple[int, int]]]

    @property
    def units(self) -> int:
        return self.side * self.side

    @property
    def max_context(self) -> int:
        return max(len(c) for c in self.context)


def block_starts(upper: int, lower: int, fan: int) -> list[int]:
    """First row (or column) of each upper unit's `fan`-wide block, spread evenly over
    `lower` positions: round(i * (lower - fan) / (upper - 1))."""
    if upper == 1:
        return [int((lower - fan) / 2 + 0.5)]
    return [int(i * (lower - fan) / (upper - 1) + 0.5) for i in range(upper)]


def build_topology(cfg: PVMConfig) -> list[LayerTopology]:
    """The full wiring of `cfg`'s hierarchy."""
    sides = cfg.layer_shapes
    offsets = [sum(s * s for s in sides[:i]) for i in range(len(sides))]
    fan, hid = cfg.fan_in_square_size, cfg.hidden_size
    children: list[list[list[int]]] = [[[] for _ in range(sides[0] ** 2)]]
    parents: list[list[list[int]]] = [[[] for _ in range(s * s)] for s in sides]
    for l in range(1, len(sides)):
        below, here = sides[l - 1], sides[l]
        starts = block_starts(here, below, fan)
        kids = []
        for r in range(here):
            for c in range(here):
                block = [
                    (starts[r] + dr) * below + starts[c] + dc
                    for dr in range(fan)
                    for dc in range(fan)
                ]
                kids.append(block)
                for k in block:
                    parents[l - 1][k].append(offsets[l] + r * here + c)
        children.append(kids)

    radius = cfg.context.lateral_radius
    reach = int(radius)
    top_ids = [offsets[-1] + i for i in range(sides[-1] ** 2)]
    layers = []
    for l, side in enumerate(sides):
        contexts = []
        # the original's quirk (context.lateral_from_layer0): lateral neighbours found on
        # this layer's grid but read from layer 0's units at the same grid positions
        from0 = cfg.context.lateral_from_layer0
        lateral_base, lateral_side = (offsets[0], sides[0]) if from0 else (offsets[l], side)
        for r in range(side):
            for c in range(side):
                local = r * side + c
                ctx: list[tuple[int, int]] = []
                seen: set[int] = set()

                def add(gid: int, group: int, once: bool = True) -> None:
                    if gid not in seen or not once:
                        seen.add(gid)
                        ctx.append((gid, group))

                for dr in range(-reach, reach + 1):
                    for dc in range(-reach, reach + 1):
                        rr, cc = r + dr, c + dc
                        if not (0 <= rr < side and 0 <= cc < side):
                            continue
                        if dr * dr + dc * dc > radius * radius:
                            continue
                        if dr == 0 and dc == 0 and cfg.context.exclude_self:
                            continue
                        add(lateral_base + rr * lateral_side + cc, LATERAL)
                my_parents = parents[l][local]
                if cfg.context.feedback:
                    for p in my_parents:
                        add(p, FEEDBACK)
                if cfg.context.two_layers_back and l + 1 < len(sides):
                    for p in my_parents:
                        for g in parents[l + 1][p - offsets[l + 1]]:
                            add(g, TWO_BACK)
                if cfg.context.top_to_all and l != len(sides) - 1:
                    for t in top_ids:
                        add(t, TOP, once=not cfg.context.top_twice)
                contexts.append(ctx)
        signal = cfg.patch_size if l == 0 else fan * fan * hid
        layers.append(LayerTopology(l, side, offsets[l], signal, children[l], contexts))
    return layers
