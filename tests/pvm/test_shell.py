import socket
import threading

import pytest

from axon.data.video import PanningCamera
from axon.pvm.runner import PVMRunner
from axon.pvm.shell import DebugShell

from .helpers import tiny


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.file = self.sock.makefile("rwb")
        self.read()  # banner

    def read(self):
        lines = []
        for _ in range(1000):  # bounded
            raw = self.file.readline()
            if not raw:
                return "\n".join(lines)  # the server closed the connection
            line = raw.decode().rstrip("\n")
            if line == ".":
                return "\n".join(lines)
            lines.append(line)
        raise AssertionError("no end of reply")

    def ask(self, line):
        self.file.write(line.encode() + b"\n")
        self.file.flush()
        return self.read()

    def close(self):
        self.file.close()
        self.sock.close()


@pytest.fixture
def session(tmp_path):
    r = PVMRunner(tiny(), PanningCamera((12, 12), length=50), tmp_path, metrics_every=5,
                  progress=False)
    r.paused = True
    with DebugShell(r, 0) as shell:
        th = threading.Thread(target=r.run, args=(10_000,), kwargs={"log": lambda line: None})
        th.start()
        clients = []
        yield r, lambda: clients.append(Client(shell.port)) or clients[-1]
        for c in clients:
            c.close()
        r.stop_requested = True
        r.call(lambda: "stop")
        th.join(timeout=60)
        assert not th.is_alive()


def test_shell_commands(session, tmp_path):
    r, connect = session
    c = connect()
    assert "deep-dream on|off" in c.ask("help")
    assert c.ask("step 7") == "ok: step 7"
    assert r.step_count == 7
    assert "step 7" in c.ask("status")
    assert "layer0.w1" in c.ask("ls layer0")
    out = c.ask("cat layer0.hidden[2]")
    assert out.startswith("shape (9,)")
    assert '"layer_shapes"' in c.ask("cat config")
    for cmd in ("dream", "deep-dream", "blindspot", "noise"):
        assert c.ask(f"{cmd} on").startswith("ok")
    assert r.dream and r.engine.deep_dream and r.blindspot and r.noise
    assert c.ask("lateral off") == "ok: lateral off" and r.engine.context_switches()[0] is False
    assert c.ask("feedback auto").startswith("ok") and r.engine.feedback is None
    assert c.ask("freeze").startswith("ok") and r.engine.frozen
    assert c.ask("unfreeze").startswith("ok") and not r.engine.frozen
    assert c.ask("lr 0.125").startswith("ok") and r.engine.learning_rate(3) == 0.125
    assert c.ask("save mysnap").startswith("ok")
    assert (tmp_path / "snapshots" / "mysnap.safetensors").is_file()
    assert c.ask("dump d1").startswith("ok") and (tmp_path / "dumps" / "d1.safetensors").is_file()
    assert c.ask("resume") == "ok: running"
    assert c.ask("pause") == "ok: paused"


@pytest.mark.parametrize("garbage", [
    "rm -rf /", "__import__('os')", "step -3", "step 1e9", "lr nan", "lr -1", "cat ../../etc",
    "cat layer0.hidden[999]", "ls nothing", "dream maybe", "save ../evil", "dump", "pause now",
    "\x00\x01", "x" * 2000,
])
def test_shell_garbage_gets_an_error_line(session, garbage, tmp_path):
    r, connect = session
    c = connect()
    assert c.ask(garbage).startswith("error")
    assert c.ask("status").startswith("step")  # still alive
    assert not (tmp_path.parent / "evil.safetensors").exists()


def test_several_clients_and_quit(session):
    r, connect = session
    a, b = connect(), connect()
    assert a.ask("step 2") == "ok: step 2"
    assert b.ask("step 3") == "ok: step 5"
    assert "step 5" in a.ask("status")
    assert b.ask("quit") == "ok: the run is ending"


def test_a_first_line_that_is_not_utf8_gets_an_error_line(session, capsys):
    r, connect = session
    c = connect()
    c.file.write(b"\xff\xfe\x80 status\n")
    c.file.flush()
    assert c.read() == "error: lines must be UTF-8 text"
    assert c.ask("status").startswith("step")
    assert "Traceback" not in capsys.readouterr().err


def test_clients_that_vanish_leave_no_traceback(session, capfd):
    r, connect = session
    port = connect().sock.getpeername()[1]
    for _ in range(5):  # connect, send a command, go away without reading
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        sock.sendall(b"help\nhelp\nhelp\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # a reset, not a polite close
    assert connect().ask("status").startswith("step")
    assert "Traceback" not in capfd.readouterr().err


def test_a_line_without_newline_is_read_in_bounded_pieces(session):
    import axon.pvm.shell as shell

    r, connect = session
    c = connect()
    c.file.write(b"x" * 3_000_000 + b"\nstatus\n")
    c.file.flush()
    assert c.read() == f"error: line too long (over {shell.MAX_LINE} bytes)"
    assert c.read().startswith("step")


def test_lr_out_of_range_is_refused(session):
    r, connect = session
    c = connect()
    assert c.ask("lr 1e308").startswith("error: lr: expected a number in [0, 100]")
    assert r.engine.lr_override is None
    assert c.ask("lr 100").startswith("ok")


def test_clients_beyond_the_bound_are_told_and_disconnected(session):
    import axon.pvm.shell as shell

    r, connect = session
    first = connect()
    port = first.sock.getpeername()[1]
    clients = [first] + [connect() for _ in range(shell.MAX_CLIENTS - 1)]
    before = threading.active_count()
    extra = socket.create_connection(("127.0.0.1", port), timeout=60)
    reply = extra.makefile("rb").read().decode()
    assert reply == f"error: {shell.MAX_CLIENTS} clients are connected already; try later\n.\n"
    assert threading.active_count() == before
    clients[0].close()
    for _ in range(200):  # the freed slot is taken by the next client (once its thread has ended)
        late = Client(port)
        if late.ask("status").startswith("step"):
            break
        late.close()
        threading.Event().wait(0.05)
    else:
        raise AssertionError("the freed slot was never taken")
    late.close()
