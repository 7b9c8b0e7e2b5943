"""Arguments and parsing shared by the ``sharpsim lm`` run commands (torch-free)."""

from __future__ import annotations

import argparse
import re

__all__ = ["add_run_arguments", "parse_task_options"]


def add_run_arguments(parser: argparse.ArgumentParser, *, seed_help: str) -> None:
    """Add the arguments every ``sharpsim lm`` run command shares to ``parser``.

    Model, task (and options), prompts, output folder, response cap, seeds, device, progress and
    overwrite; ``bon``/``passk`` and ``sft``/``rlhf``/``xpo`` add their own.

    Args:
      parser: the subcommand's parser.
      seed_help: the help text of ``--seed``.
    """
    parser.add_argument("--model", required=True, metavar="DIR", help="local model directory (from_pretrained)")
    parser.add_argument("--task", required=True, metavar="NAME",
                        help="task: arithmetic, prontoqa, game24, jsonl (with --task-option path=FILE)")
    parser.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE",
                        help="a task option, e.g. steps=3 (repeatable; integers are passed as ints)")
    parser.add_argument("--n-prompts", type=int, required=True, metavar="K", help="number of task prompts")
    parser.add_argument("--out", required=True, metavar="DIR", help="run directory (resumed if it exists)")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="cap on response tokens (default 64)")
    parser.add_argument("--seed", type=int, default=0, help=seed_help)
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the task's examples (default 0)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
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
