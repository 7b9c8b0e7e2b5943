"""One rank of a local ``torch.distributed`` job for the data-parallel tests (started by
``torch.multiprocessing.spawn``): it sets the environment ``torchrun`` would set, runs the
``sharpsim lm`` command lines it is given one after another, and on ranks other than 0 records
every write the process makes under the watched folder — Python-level file opens for writing,
directory creation, renames, removals (through an audit hook, :func:`sys.addaudithook`) and
safetensors saves (which write from Rust, below the audit hook) — into ``report/rank<r>.json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_PATH_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "os.truncate", "os.link",
                "os.symlink", "os.chmod"}


def _under(path, root: str) -> bool:
    if isinstance(path, int) or path is None:
        return False
    try:
        full = os.path.abspath(os.fsdecode(os.fspath(path)))
    except TypeError:
        return False
    return full == root or full.startswith(root + os.sep)


def _watch(root: str, events: list) -> None:
    def hook(event, args):
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writes = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if writes and _under(path, root):
                events.append(["open", os.fspath(path)])
        elif event in _PATH_EVENTS:
            if any(_under(a, root) for a in args[:2]):
                events.append([event, str(args[0])])

    sys.addaudithook(hook)
    import safetensors.torch

    original = safetensors.torch.save_file

    def save_file(tensors, filename, *a, **kw):
        if _under(filename, root):
            events.append(["safetensors.save_file", str(filename)])
        return original(tensors, filename, *a, **kw)

    safetensors.torch.save_file = save_file


def run_rank(rank: int, world: int, ports: list, commands: list, watched: str, report: str,
             prompts_per_call: int) -> None:
    """Run ``commands`` (argv lists for ``sharpsim.cli.main``) as rank ``rank`` of ``world`` (gloo, CPU).

    Args:
      rank, world: this process's rank and the number of processes.
      ports: one rendezvous port on 127.0.0.1 per command (each command creates and destroys its
        process group, as one ``torchrun`` launch does; a fresh port keeps a command from meeting
        the previous group's store).
      commands: the command lines, run in order.
      watched: the folder whose writes are recorded (ranks other than 0).
      report: the folder ``rank<r>.json`` (exit codes and recorded writes) goes to.
      prompts_per_call: prompts per sampling chunk (``sharpsim.bridge._common.PROMPTS_PER_CALL``), so
        that the few prompts of a test are dealt out over the ranks.
    """
    import faulthandler

    # a rank that hangs (a collective the other rank never reaches) prints its stack and exits, so
    # that the test fails instead of waiting forever
    faulthandler.dump_traceback_later(240, exit=True)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", OMP_NUM_THREADS="1")
    import torch

    torch.set_num_threads(1)
    from sharpsim import cli
    from sharpsim.bridge import _common

    _common.PROMPTS_PER_CALL = prompts_per_call
    events: list = []
    if rank != 0:
        _watch(os.path.abspath(watched), events)
    codes = []
    for port, argv in zip(ports, commands, strict=True):
        os.environ["MASTER_PORT"] = str(port)
        codes.append(cli.main([str(a) for a in argv]))
    faulthandler.cancel_dump_traceback_later()
    out = Path(report) / f"rank{rank}.json"
    out.write_text(json.dumps({"codes": codes, "writes": events}))
