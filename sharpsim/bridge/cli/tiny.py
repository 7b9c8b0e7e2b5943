"""``sharpsim lm train-tiny``: train a small GPT-2 style LM from scratch on a generated task.

Importable without torch (``configure`` only builds the parser); ``main`` imports torch.

Example::

    sharpsim lm train-tiny --task arithmetic --out models/arith-tiny
    sharpsim lm bon --model models/arith-tiny --task arithmetic ...

Training pairs are ``(example.prompt, task.training_response(example))`` (the solution, or for
``--task planted:...`` a label drawn from the planted law) for ``task.examples(E, seed=S)``;
after training, greedy accuracy (and sampled accuracy at temperature 1) is measured on held-out
examples — ``task.examples(E_eval, seed=S + 1)`` minus any whose prompt was trained on — and
printed and stored under ``"eval"`` in ``DIR/train_manifest.json``.
"""

from __future__ import annotations

import argparse

#: default optimiser steps: on 2 CPU cores the tiny arithmetic model trains in a few minutes and
#: reaches partial accuracy (theory/bridge_policy.md has the measurements)
DEFAULT_STEPS = 1500
DEFAULT_EXAMPLES = 5000
DEFAULT_EVAL = 200


def configure(parser: argparse.ArgumentParser, name: str = "train-tiny") -> None:
    """Add the ``train-tiny`` arguments to ``parser`` (``name`` is accepted for the common interface)."""
    parser.add_argument("--task", required=True,
                        help="task name or spec, e.g. arithmetic or 'arithmetic:steps=3' (sharpsim.bridge.tasks)")
    parser.add_argument("--out", required=True, help="directory to save the model, tokenizer and manifest")
    parser.add_argument("--size", default="tiny", choices=["tiny", "small", "base"],
                        help="tiny: 2 layers x 64; small: 4 x 128; base: 6 x 256 (default tiny)")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"optimiser steps (default {DEFAULT_STEPS})")
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                        help=f"training examples drawn from the task (default {DEFAULT_EXAMPLES})")
    parser.add_argument("--eval-examples", type=int, default=DEFAULT_EVAL,
                        help=f"held-out examples for the accuracy report (default {DEFAULT_EVAL}; 0 skips it)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data, initialisation and batches")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak AdamW learning rate (default 3e-3)")
    parser.add_argument("--batch-size", type=int, default=64, help="pairs per step (default 64)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice; 1 is faster on a busy machine)")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="cap for the held-out decoding (default: 2 x the longest training response + 8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _check(args) -> None:
    for name in ("steps", "examples", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.eval_examples < 0:
        raise ValueError(f"--eval-examples must be >= 0, got {args.eval_examples}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise ValueError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")


def evaluate(policy, task, examples, *, max_new_tokens: int, n_samples: int = 4, seed: int = 0,
             progress: bool = False) -> dict:
    """Greedy accuracy and mean accuracy of ``n_samples`` temperature-1 draws on ``examples``.

    Args:
      policy: the ``LMPolicy``.
      task: the task (correctness).
      examples: the held-out examples.
      max_new_tokens: the response cap.
      n_samples: draws per prompt.
      seed: sampling seed.
      progress: show progress bars.

    Returns:
      ``n``, ``greedy_accuracy``, ``sample_accuracy_t1``, ``pass_at_<n_samples>_t1``,
      ``max_new_tokens`` and three greedy examples.
    """
    prompts = [e.prompt for e in examples]
    greedy = policy.greedy(prompts, max_new_tokens=max_new_tokens, progress=progress)
    greedy_acc = sum(task.is_correct(e, r) for e, r in zip(examples, greedy.text)) / len(examples)
    draws = policy.sample(prompts, n=n_samples, max_new_tokens=max_new_tokens, seed=seed, progress=progress)
    correct = [task.is_correct(examples[i], r) for i, r in zip(draws.prompt_index, draws.text)]
    by_prompt = [any(correct[i * n_samples: (i + 1) * n_samples]) for i in range(len(examples))]
    return {"n": len(examples), "greedy_accuracy": greedy_acc,
            "sample_accuracy_t1": sum(correct) / len(correct),
            f"pass_at_{n_samples}_t1": sum(by_prompt) / len(examples), "max_new_tokens": max_new_tokens,
            "greedy_examples": [{"prompt": p, "response": r} for p, r in zip(prompts[:3], greedy.text[:3])]}


def main(args) -> int:
    """Run ``sharpsim lm train-tiny``: train, save, and report held-out accuracy (see the module doc).

    Args:
      args: the parsed arguments.

    Returns:
      0.

    Raises:
      ValueError: a bad argument (the message names the flag).
    """
    import json
    from pathlib import Path

    from sharpsim.bridge import tasks, tiny
    from sharpsim.bridge._deps import require

    _check(args)
    task = tasks.from_spec(args.task)
    torch = require("torch")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    train = task.examples(args.examples, seed=args.seed)
    pairs = [(e.prompt, task.training_response(e)) for e in train]
    print(f"train-tiny: task {task.name!r}, {len(pairs)} examples, size {args.size}, {args.steps} steps",
          flush=True)
    out = tiny.train_tiny(pairs, args.out, size=args.size, steps=args.steps, seed=args.seed,
                          device=args.device, lr=args.lr, batch_size=args.batch_size)
    manifest_path = Path(out) / "train_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["task"] = {"spec": args.task, "name": task.name, "examples": args.examples, "seed": args.seed}
    print(f"trained {manifest['n_params']} parameters in {manifest['seconds']:.1f} s on {manifest['device']}: "
          f"loss {manifest['initial_loss']:.3f} -> {manifest['final_loss']:.3f} nats/token", flush=True)
    if args.eval_examples > 0:
        from sharpsim.bridge.policy import LMPolicy

        seen = {e.prompt for e in train}
        held = [e for e in task.examples(args.eval_examples, seed=args.seed + 1) if e.prompt not in seen]
        if not held:
            print("no held-out examples (every eval prompt was trained on); accuracy not measured")
            manifest["eval"] = None
        else:
            longest = max(len(r) for _, r in pairs)
            cap = args.max_new_tokens or min(2 * longest + 8, tiny.N_POSITIONS - 1 - max(len(e.prompt) for e in held))
            policy = LMPolicy.from_pretrained(out, device=args.device)
            result = evaluate(policy, task, held, max_new_tokens=cap, seed=args.seed,
                              progress=not args.no_progress)
            manifest["eval"] = result
            print(f"held-out ({result['n']} prompts not trained on): greedy accuracy "
                  f"{result['greedy_accuracy']:.3f}, temperature-1 sample accuracy "
                  f"{result['sample_accuracy_t1']:.3f}, pass@4 {result['pass_at_4_t1']:.3f}", flush=True)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"saved to {out} (load with LMPolicy.from_pretrained)")
    return 0
