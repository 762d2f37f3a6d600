"""What the PVM display shows, as arrays: per layer its signal, its prediction of the
signal, the |error|, its hidden state and its readout heatmap, plus a text box. Drawn by
`axon.viz.pvm.save_display`.

Images are NumPy arrays `(height, width)` (grey) or `(height, width, 3)` in [0, 1].
"""

from __future__ import annotations

import numpy as np
import torch


def unit_tiles(values: torch.Tensor, side: int, tile: int, blocks: int = 1) -> np.ndarray:
    """Per-unit vectors `(side * side, blocks * blocks * tile * tile)` -> one grey image
    `(side * blocks * tile, side * blocks * tile)`: each unit's vector is a `blocks x
    blocks` arrangement of `tile x tile` squares (the hidden states of the units it reads)."""
    v = values.detach().float().cpu().reshape(side, side, blocks, blocks, tile, tile)
    v = v.permute(0, 2, 4, 1, 3, 5).reshape(side * blocks * tile, side * blocks * tile)
    return v.numpy()


def _frame(values: torch.Tensor, runner) -> np.ndarray:
    cfg = runner.cfg
    b, g, c = cfg.input_block_size, cfg.layer_shapes[0], cfg.input_channels
    img = values.detach().float().cpu().reshape(g, g, c, b, b).permute(0, 3, 1, 4, 2)
    img = img.reshape(g * b, g * b, c).numpy()
    return img[:, :, 0] if c == 1 else img


def panels(runner) -> dict:
    """The display of a runner's current state (gathering units from every process)."""
    eng, cfg, col = runner.engine, runner.cfg, runner.collective
    hb, fan = cfg.hidden_block_size, cfg.fan_in_square_size
    columns = []
    for l, layer in enumerate(eng.layers):
        side = layer.topo.side
        sig = col.gather_units(l, layer.signal if eng.has_pred else layer.pred)
        err = col.gather_units(l, layer.error)
        pred = col.gather_units(l, layer.pred)
        hid = col.gather_units(l, layer.hidden)
        if l == 0:
            rows = {"signal": _frame(sig, runner), "prediction": _frame(pred, runner),
                    "|error|": np.abs(_frame(err, runner))}
        else:
            rows = {"signal": unit_tiles(sig, side, hb, fan),
                    "prediction": unit_tiles(pred, side, hb, fan),
                    "|error|": np.abs(unit_tiles(err, side, hb, fan))}
        rows["state"] = unit_tiles(hid, side, hb)
        if layer.heat is not None:
            t = cfg.readout.tile(l)
            rows["readout"] = unit_tiles(col.gather_units(l, layer.heat), side, t)
        columns.append({"title": f"layer {l} ({side}x{side})", "rows": rows})
    lat, fb = eng.context_switches()
    flags = [name for name, on in (("dream", runner.dream), ("deep-dream", eng.deep_dream),
                                   ("blindspot", runner.blindspot), ("noise", runner.noise),
                                   ("frozen", eng.frozen), ("lateral", lat), ("feedback", fb))
             if on]
    m = runner.last_metrics
    text = (f"{cfg.name}  step {eng.step_count}  {runner.steps_per_s:.1f} steps/s  "
            f"lr0 {eng.learning_rate(0):.2g}  "
            + (f"mse0 {m['mse_0']:.4f}  " if m else "") + "flags: " + (" ".join(flags) or "-"))
    return {"columns": columns, "text": text}
