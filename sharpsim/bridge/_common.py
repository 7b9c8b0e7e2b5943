"""Small helpers shared by the bridge's trainers (sampling seeds, chunking, progress bars, means)."""

from __future__ import annotations

import numpy as np

#: prompts per ``LMPolicy.sample`` call (each call draws N per prompt)
PROMPTS_PER_CALL = 8


def stage_seed(seed: int, stage: int) -> int:
    """The sampler seed of one stage of a run (1: BoN draws / pairs / y, 2: y', 3: tuned evaluation, 4: BoN re-drawn on evaluation prompts).

    Within a stage, ``LMPolicy.sample`` seeds each prompt's draws by ``(seed, prompt_ids[i])``, so a
    resumed run that samples only its unfinished prompts draws what a fresh run would have.
    """
    return (int(seed) * 1_000_003 + stage * 7_919_113) % (2**31 - 1)


def chunks(n: int, size: int | None = None):
    """Consecutive index lists ``[0..size), [size..2 size), ...`` covering ``range(n)``.

    ``size`` defaults to :data:`PROMPTS_PER_CALL` as it is when called.
    """
    size = PROMPTS_PER_CALL if size is None else size
    for s in range(0, n, size):
        yield list(range(s, min(n, s + size)))


def progress(iterable, *, enabled: bool, desc: str, total=None):
    """``iterable`` wrapped in a tqdm bar when ``enabled``, else unchanged."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def mean(xs) -> float | None:
    """The mean of ``xs`` as a float, ``None`` when empty."""
    xs = [float(x) for x in xs]
    return float(np.mean(xs)) if xs else None


def median(xs) -> float | None:
    """The median of ``xs`` as a float, ``None`` when empty."""
    xs = [float(x) for x in xs]
    return float(np.median(xs)) if xs else None


def check_examples(examples, name: str = "examples") -> list:
    """``examples`` as a list; raises ``ValueError`` naming ``name`` when it is empty."""
    examples = list(examples)
    if not examples:
        raise ValueError(f"`{name}` is empty; give at least one prompt")
    return examples


def device_of(model):
    """The device ``model``'s inputs go on (:func:`sharpsim.bridge.scoring.input_device`)."""
    from sharpsim.bridge.scoring import input_device

    return input_device(model)


def policy_from(model, policy):
    """An ``LMPolicy`` sampling ``model`` with ``policy``'s tokenizer and device."""
    from sharpsim.bridge.policy import LMPolicy

    return LMPolicy.from_model(model, policy.tokenizer, device=policy.device)
