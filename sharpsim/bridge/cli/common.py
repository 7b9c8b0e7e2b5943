"""Arguments and parsing shared by the ``sharpsim lm`` run commands (torch-free)."""

from __future__ import annotations

import argparse
import re

__all__ = ["PLACEMENT_FLAGS", "add_run_arguments", "check_placement", "parse_task_options", "placement_kwargs"]

#: argument names of the model placement (they do not change results: left out of the run config)
PLACEMENT_FLAGS = ("tensor_parallel", "device_map")


def add_run_arguments(parser: argparse.ArgumentParser, *, seed_help: str) -> None:
    """Add the arguments every ``sharpsim lm`` run command shares to ``parser``.

    Model, task (and options), prompts, output folder, response cap, seeds, device and placement
    (``--tensor-parallel``, ``--device-map``), progress and overwrite; ``bon``/``passk`` and
    ``sft``/``rlhf``/``xpo`` add their own.

    Args:
      parser: the subcommand's parser.
      seed_help: the help text of ``--seed``.
    """
    parser.add_argument("--model", required=True, metavar="DIR", help="local model directory (from_pretrained)")
    parser.add_argument("--task", required=True, metavar="NAME",
                        help="task: arithmetic, prontoqa, game24, planted, jsonl (with --task-option path=FILE)")
    parser.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a task option, e.g. steps=3 (repeatable; integers are passed as ints)")
    parser.add_argument("--n-prompts", type=int, required=True, metavar="K", help="number of task prompts")
    parser.add_argument("--out", required=True, metavar="DIR", help="run directory (resumed if it exists)")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="cap on response tokens (default 64)")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the task's examples (default 0)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument("--tensor-parallel", type=int, default=1, metavar="K",
                        help="GPUs one copy of the model spans (default 1): vLLM's tensor_parallel_size=K, and "
                             "the Hugging Face model placed over GPUs 0..K-1 by accelerate (device_map='auto'); "
                             "K > 1 needs K CUDA devices")
    parser.add_argument("--device-map", default=None, choices=["auto"],
                        help="auto: accelerate places the Hugging Face model over every visible GPU, then the "
                             "CPU (a model larger than one GPU); not with --device")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--overwrite", action="store_true", help="delete an existing run in --out first")


def parse_task_options(items) -> dict:
    """``["steps=3", "ops=+*"]`` -> ``{"steps": 3, "ops": "+*"}`` (integer-looking values become ints).

    Raises:
      ValueError: an item is not ``key=value`` with a non-empty key, or a key repeats.
    """
    options: dict = {}
    for item in items or []:
        key, eq, value = str(item).partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"--task-option must be KEY=VALUE, got {item!r}")
        if key in options:
            raise ValueError(f"--task-option {key!r} is given twice")
        value = value.strip()
        options[key] = int(value) if re.fullmatch(r"[-+]?\d+", value) else value
    return options


def check_placement(args) -> None:
    """Check ``--tensor-parallel``, ``--device-map`` and ``--device`` together (torch-free).

    Args:
      args: the parsed arguments.

    Raises:
      ValueError: ``--tensor-parallel`` below 1, ``--device-map`` with ``--device``, or
        ``--tensor-parallel K > 1`` with a ``--device`` other than ``cuda``.
    """
    k = args.tensor_parallel
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"--tensor-parallel must be an integer >= 1, got {k}")
    if args.device_map is not None and args.device is not None:
        raise ValueError(f"--device-map {args.device_map} places the model itself; drop --device {args.device}")
    if k > 1 and args.device not in (None, "cuda"):
        raise ValueError(f"--tensor-parallel {k} spans GPUs 0..{k - 1}; --device must be cuda or left out, "
                         f"got {args.device}")


def placement_kwargs(args, *, world_size: int = 1) -> dict:
    """The ``LMPolicy.from_pretrained`` placement keywords of the parsed arguments; imports torch.

    Checked here (before a run directory is created): with ``--tensor-parallel K > 1`` and no
    ``--device-map``, at least ``K`` CUDA devices (no CPU fallback: ``--device-map auto`` is the
    way to place a model on what there is); in a multi-process job (``world_size > 1``, each rank
    holding a whole copy of the model) neither ``--tensor-parallel`` above 1 nor ``--device-map``.

    Args:
      args: the parsed arguments (after :func:`check_placement`).
      world_size: processes in the job (``torchrun``).

    Returns:
      ``{"tensor_parallel": K}`` plus ``{"device_map": "auto"}`` when asked.

    Raises:
      ValueError: too few CUDA devices for ``--tensor-parallel``, or placement flags in a
        multi-process job.
    """
    check_placement(args)
    k = args.tensor_parallel
    if world_size > 1 and (k > 1 or args.device_map is not None):
        raise ValueError(f"--tensor-parallel/--device-map in a {world_size}-process (torchrun) job: each rank "
                         "trains a whole copy of the model on its GPU; drop them, or run one process")
    if k > 1 and args.device_map is None:
        from sharpsim.bridge._deps import require

        torch = require("torch")
        found = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if found < k:
            raise ValueError(f"--tensor-parallel {k} needs {k} CUDA devices, found {found}; use --device-map auto "
                             "to let accelerate place the model on the devices there are, or --tensor-parallel 1")
    out: dict = {"tensor_parallel": k}
    if args.device_map is not None:
        out["device_map"] = args.device_map
    return out
