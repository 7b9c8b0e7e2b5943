"""The task interface: :class:`Example` and the :class:`Task` base class, and option checks.

Pure Python (no torch, no jax, no numpy).
"""

from __future__ import annotations

import dataclasses
import numbers
import random
from collections.abc import Mapping
from dataclasses import field
from typing import Any

__all__ = ["Example", "Task", "check_int_option", "check_n_seed"]


@dataclasses.dataclass(frozen=True)
class Example:
    """One task instance.

    Attributes:
        id: stable and unique within a task, e.g. ``"arithmetic/seed0/17"``.
        prompt: the text given to the LM.
        answer: the canonical answer string (what :meth:`Task.extract` returns for a right answer;
            for ``game24`` one solver expression — any correct expression is accepted).
        meta: JSON-friendly extras (e.g. the game-24 numbers, a JSONL row's line number).
    """

    id: str
    prompt: str
    answer: str
    meta: Mapping[str, Any] = field(default_factory=dict)



def check_int_option(task: str, option: str, value: Any, *, low: int, high: int | None = None) -> int:
    """A task option that must be an integer in ``low..high`` (``high=None``: no upper bound).

    Args:
      task: the task's name (for the message).
      option: the option's name.
      value: the value given (numpy integers are accepted; bools are not).
      low, high: the bounds, inclusive.

    Returns:
      ``value`` as ``int``.

    Raises:
      ValueError: not an integer, or out of range (the message names the task and option).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"task {task!r}: option {option} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"task {task!r}: option {option} must be {bound}, got {value}")
    return value


def check_n_seed(n: Any, seed: Any) -> None:
    """Check the arguments of :meth:`Task.examples`.

    Raises:
      ValueError: ``n`` is not an integer ``>= 1`` or ``seed`` is not an integer.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")


class Task:
    """Base class of a task. Subclasses set ``name`` and ``description`` and implement
    ``_example(rng, seed, index)``, ``solution`` and ``extract``; the default ``is_correct`` is
    "the extracted string equals ``example.answer``" (game24 overrides it).

    ``examples(n, seed=s)`` draws example ``i`` from one ``random.Random`` seeded with the string
    ``"sharpsim.tasks/<name>/<s>"`` (Python hashes string seeds with SHA-512, so the stream does not
    depend on ``PYTHONHASHSEED``), in order, so the first ``k`` of ``n`` examples equal
    ``examples(k, seed=s)``. Ids are ``"<name>/seed<s>/<i>"``.
    """

    name: str = "task"
    description: str = ""

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"

    def examples(self, n: int, *, seed: int = 0) -> list[Example]:
        """``n`` examples, deterministic in ``(n, seed)`` and the task's options."""
        check_n_seed(n, seed)
        n, seed = int(n), int(seed)
        rng = random.Random(f"sharpsim.tasks/{self.name}/{seed}")
        return [self._example(rng, seed, i) for i in range(n)]

    def _example(self, rng: random.Random, seed: int, index: int) -> Example:  # pragma: no cover
        raise NotImplementedError

    def solution(self, example: Example) -> str:  # pragma: no cover
        """A correct reference response: the steps, then the answer in extractable form."""
        raise NotImplementedError

    def training_response(self, example: Example) -> str:
        """The response ``sharpsim lm train-tiny`` trains on: :meth:`solution` unless a task plants
        noisy labels (``planted``).

        Args:
            example: the example.

        Returns:
            The response text.
        """
        return self.solution(example)

    def extract(self, response: str) -> str | None:  # pragma: no cover
        """The answer in ``response`` in canonical form, or None when there is none."""
        raise NotImplementedError

    def is_correct(self, example: Example, response: str) -> bool:
        """Whether the answer extracted from ``response`` is right for ``example`` (exact)."""
        got = self.extract(response)
        return got is not None and got == example.answer
