"""The PVM debug shell: a line protocol over TCP (`nc 127.0.0.1 9000`).

Every command is one line; every reply ends with a line holding a single `.`. Commands
run on the runner's thread between steps (see `PVMRunner.call`), so they never see a
half-finished step. Nothing a client sends is evaluated as Python; unknown or malformed
commands get an `error: ...` line. Several clients may be connected at once.
"""

from __future__ import annotations

import json
import re
import socketserver
import threading
from pathlib import Path

import torch

from axon.pvm.snapshot import save_snapshot

HELP = """commands:
  help                      this list
  status                    step, speed, switches, recent per-layer errors
  pause | resume            stop / continue stepping
  step N                    take N steps now (while paused or not)
  ls [PATH]                 list model state (e.g. ls, ls layer0)
  cat PATH[ROW]             show a tensor (e.g. cat layer0.hidden, cat layer1.pred[3]) or config
  dump NAME                 write every state tensor to OUT/dumps/NAME.safetensors
  save NAME                 write a resumable snapshot OUT/snapshots/NAME.safetensors
  dream on|off              feed the predicted frame back as the input
  deep-dream on|off         every unit reads its own prediction as its signal
  blindspot on|off          blank the central square of the input
  noise on|off              add Gaussian noise to the input
  lateral on|off|auto       force lateral context on/off, or follow the schedule
  feedback on|off|auto      force feedback context on/off, or follow the schedule
  freeze | unfreeze         stop / restart learning
  lr VALUE|auto             set every layer's learning rate, or follow the schedule
  quit                      end the run (a final snapshot is written)"""

MAX_LR = 100.0
"""Largest learning rate the shell sets; far above any useful one, far below overflow."""
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_PATH = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)(\[(?P<row>\d+)\])?$")


class ShellCommands:
    """Parses one line and runs it against a runner; returns the reply text."""

    def __init__(self, runner):
        self.runner = runner

    def handle(self, line: str) -> str:
        words = line.strip().split()
        if not words:
            return ""
        cmd, args = words[0].lower(), words[1:]
        simple = {"help": lambda: HELP, "quit": self._quit}
        if cmd in simple and not args:
            return simple[cmd]()
        method = getattr(self, "cmd_" + cmd.replace("-", "_"), None)
        if method is None:
            return f"error: unknown command {words[0]!r}; type help"
        return self.runner.call(lambda: method(args))

    def _quit(self) -> str:
        def stop() -> str:
            self.runner.stop_requested = True
            return "ok: the run is ending"
        return self.runner.call(stop)

    @staticmethod
    def _no_args(args: list[str]) -> None:
        if args:
            raise ValueError(f"takes no arguments, got {' '.join(args)!r}")

    @staticmethod
    def _switch(args: list[str], auto: bool = False) -> bool | None:
        allowed = ("on", "off", "auto") if auto else ("on", "off")
        if len(args) != 1 or args[0] not in allowed:
            raise ValueError(f"expected {'|'.join(allowed)}, got {' '.join(args)!r}")
        return None if args[0] == "auto" else args[0] == "on"

    # -- commands (run on the runner thread) ---------------------------------------
    def cmd_status(self, args):
        self._no_args(args)
        r, e = self.runner, self.runner.engine
        lat, fb = e.context_switches()
        lines = [f"step {e.step_count}  {r.steps_per_s:.2f} steps/s  paused {r.paused}",
                 f"dream {r.dream}  deep-dream {e.deep_dream}  blindspot {r.blindspot}  "
                 f"noise {r.noise}  lateral {lat}  feedback {fb}  frozen {e.frozen}",
                 "learning rates " + " ".join(f"{e.learning_rate(l):.3g}"
                                              for l in range(len(e.layers)))]
        if r.last_metrics:
            lines.append(r.status_line())
        return "\n".join(lines)

    def cmd_pause(self, args):
        self._no_args(args)
        self.runner.paused = True
        return "ok: paused"

    def cmd_resume(self, args):
        self._no_args(args)
        self.runner.paused = False
        return "ok: running"

    def cmd_step(self, args):
        if len(args) != 1 or not args[0].isdigit() or not 0 < int(args[0]) <= 100_000:
            raise ValueError(f"step N: expected 1 <= N <= 100000, got {' '.join(args)!r}")
        for _ in range(int(args[0])):
            self.runner.step()
        return f"ok: step {self.runner.step_count}"

    def _tensors(self) -> dict[str, torch.Tensor]:
        return self.runner.engine.state_tensors()

    def cmd_ls(self, args):
        tensors = self._tensors()
        if not args:
            tops = sorted({n.split(".")[0] for n in tensors} | {"config"})
            return "\n".join(tops)
        prefix = args[0].rstrip(".") + "."
        rows = [f"{n}  {tuple(t.shape)}  {str(t.dtype).removeprefix('torch.')}"
                for n, t in tensors.items() if n.startswith(prefix) or n == args[0]]
        if not rows:
            raise ValueError(f"no state under {args[0]!r}; try ls")
        return "\n".join(rows)

    def cmd_cat(self, args):
        if len(args) != 1:
            raise ValueError("cat PATH: expected one path, e.g. cat layer0.hidden[0]")
        if args[0] == "config":
            return json.dumps(self.runner.cfg.model_dump(mode="json"), indent=1)
        m = _PATH.match(args[0])
        tensors = self._tensors()
        if m is None or m["name"] not in tensors:
            raise ValueError(f"no tensor {args[0]!r}; try ls")
        t = tensors[m["name"]]
        if m["row"] is not None:
            row = int(m["row"])
            if row >= len(t):
                raise ValueError(f"{m['name']} has {len(t)} rows, asked for row {row}")
            t = t[row]
        flat = t.detach().float().reshape(-1)
        head = ", ".join(f"{v:.4g}" for v in flat[:32].tolist())
        more = f", ... ({flat.numel()} values)" if flat.numel() > 32 else ""
        stats = (f"shape {tuple(t.shape)} min {flat.min().item():.4g} max "
                 f"{flat.max().item():.4g} mean {flat.mean().item():.4g}") if flat.numel() else ""
        return f"{stats}\n[{head}{more}]"

    def _out_file(self, folder: str, args: list[str]) -> Path:
        if len(args) != 1 or not _NAME.match(args[0]):
            raise ValueError("expected one NAME of letters, digits, '_', '-' or '.'")
        name = args[0].removesuffix(".safetensors")
        return self.runner.out_dir / folder / f"{name}.safetensors"

    def cmd_dump(self, args):
        path = self._out_file("dumps", args)
        save_snapshot(path, self.runner.full_tensors(), self.runner.state())
        return f"ok: wrote {path}"

    def cmd_save(self, args):
        path = self._out_file("snapshots", args)
        self.runner.snapshot(path)
        return f"ok: wrote {path}"

    def cmd_dream(self, args):
        self.runner.dream = self._switch(args)
        return f"ok: dream {args[0]}"

    def cmd_deep_dream(self, args):
        self.runner.engine.deep_dream = self._switch(args)
        return f"ok: deep-dream {args[0]}"

    def cmd_blindspot(self, args):
        self.runner.blindspot = self._switch(args)
        return f"ok: blindspot {args[0]}"

    def cmd_noise(self, args):
        self.runner.noise = self._switch(args)
        return f"ok: noise {args[0]}"

    def cmd_lateral(self, args):
        self.runner.engine.lateral = self._switch(args, auto=True)
        return f"ok: lateral {args[0]}"

    def cmd_feedback(self, args):
        self.runner.engine.feedback = self._switch(args, auto=True)
        return f"ok: feedback {args[0]}"

    def cmd_freeze(self, args):
        self._no_args(args)
        self.runner.engine.frozen = True
        return "ok: learning frozen"

    def cmd_unfreeze(self, args):
        self._no_args(args)
        self.runner.engine.frozen = False
        return "ok: learning on"

    def cmd_lr(self, args):
        eng = self.runner.engine
        if len(args) != 1:
            raise ValueError("lr VALUE|auto: expected one value")
        if args[0] == "auto":
            eng.lr_override = None
            return "ok: learning rates follow the schedule"
        try:
            value = float(args[0])
        except ValueError:
            raise ValueError(f"lr: expected a number >= 0 or auto, got {args[0]!r}") from None
        if not 0 <= value <= MAX_LR:
            raise ValueError(f"lr: expected a number in [0, {MAX_LR:g}], got {args[0]!r}")
        eng.lr_override = value
        return f"ok: learning rate {value:g} for every layer"


MAX_LINE = 1000
"""Longest command line in bytes; a longer one is read in bounded pieces and refused."""
MAX_CLIENTS = 8
"""Clients served at once (one thread each); more are told so and disconnected."""
IDLE_SECONDS = 600
"""A client that sends nothing for this long is disconnected."""


class _Handler(socketserver.StreamRequestHandler):
    timeout = IDLE_SECONDS

    def handle(self) -> None:
        try:
            self._serve()
        except OSError:  # the client went away or idled out: nothing to report
            return

    def _serve(self) -> None:
        commands: ShellCommands = self.server.commands
        self.wfile.write(b"axon pvm debug shell; type help\n.\n")
        while True:
            raw = self.rfile.readline(MAX_LINE + 1)
            if not raw:
                return
            if len(raw) > MAX_LINE:
                while raw and not raw.endswith(b"\n"):  # skip the rest of the line, boundedly
                    raw = self.rfile.readline(MAX_LINE + 1)
                reply, line = f"error: line too long (over {MAX_LINE} bytes)", ""
            else:
                try:
                    line = raw.decode("utf-8", errors="strict")
                except UnicodeDecodeError:
                    reply, line = "error: lines must be UTF-8 text", ""
                else:
                    reply = commands.handle(line)
            self.wfile.write((reply + "\n.\n").encode())
            if line.strip() == "quit":
                return


class _Server(socketserver.ThreadingTCPServer):
    """A threading server of at most `MAX_CLIENTS` clients at once."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, max_clients: int = MAX_CLIENTS):
        super().__init__(address, handler)
        self.max_clients = max_clients
        self.slots = threading.BoundedSemaphore(max_clients)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.sendall(f"error: {self.max_clients} clients are connected already; try later\n.\n"
                                .encode())
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class DebugShell:
    """Serves `ShellCommands` for `runner` on `host:port` in a background thread.
    Use as a context manager; `port=0` picks a free port (see `.port`)."""

    def __init__(self, runner, port: int, host: str = "127.0.0.1"):
        self.server = _Server((host, port), _Handler)
        self.server.commands = ShellCommands(runner)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> DebugShell:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
