"""``sharpsim lm ...``: the LM bridge's command line.

Each subcommand lives in a torch-free module of this package exposing ``configure(parser, name)``
(adds the arguments) and ``main(args) -> int`` (imports torch and runs): :mod:`.tiny`
(``train-tiny``), :mod:`.infer` (``bon``, ``passk``) and :mod:`.sharpen` (``sft``, ``rlhf``, ``xpo``);
:mod:`.common` holds the arguments they share.
Building the parser therefore never imports torch, so ``sharpsim --help`` stays fast and works
without the ``lm`` extra.
"""

from __future__ import annotations

import argparse
import importlib

#: subcommand -> (module with configure/main, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train-tiny": ("sharpsim.bridge.cli.tiny", "train a small GPT-2 style LM from scratch on a generated task"),
    "bon": ("sharpsim.bridge.cli.infer", "inference-time best-of-N by self-reward: accuracy lift over greedy"),
    "passk": ("sharpsim.bridge.cli.infer", "coverage skyline: unbiased pass@k with bootstrap intervals"),
    "sft": ("sharpsim.bridge.cli.sharpen", "SFT-Sharpening: BoN picks, then a LoRA fine-tune"),
    "rlhf": ("sharpsim.bridge.cli.sharpen", "RLHF-Sharpening (Eq 8 reward regression) with LoRA"),
    "xpo": ("sharpsim.bridge.cli.sharpen", "XPO (Alg 1: growing data, alpha optimism) with LoRA"),
}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add ``sharpsim lm`` and its subcommands to the top-level ``sub`` parsers.

    Args:
      sub: the top-level parser's subparsers (``parser.add_subparsers()``).
    """
    lm = sub.add_parser("lm", help="the LM bridge: sharpening on real Hugging Face causal LMs",
                        description="Sharpening algorithms on local Hugging Face causal LMs "
                        "(needs: pip install torch==2.13.0 'sharpsim[lm]').")
    lm_sub = lm.add_subparsers(dest="lm_command", metavar="LM_COMMAND")
    for name, (module, help_) in COMMANDS.items():
        p = lm_sub.add_parser(name, help=help_, description=help_)
        try:
            importlib.import_module(module).configure(p, name)
        except ModuleNotFoundError as err:  # a subcommand still being built
            if err.name != module:
                raise
            p.set_defaults(_unavailable=True)


def main(args) -> int:
    """Run the ``sharpsim lm`` subcommand chosen in ``args`` (parsed by a parser from :func:`add_parsers`).

    Args:
      args: the parsed namespace (``args.lm_command`` names the subcommand).

    Returns:
      The subcommand's exit code.

    Raises:
      ValueError: no subcommand was chosen, or it is not available in this build.
    """
    if getattr(args, "lm_command", None) is None:
        raise ValueError("choose a subcommand: sharpsim lm {" + ",".join(COMMANDS) + "} --help")
    module, _ = COMMANDS[args.lm_command]
    if getattr(args, "_unavailable", False):
        raise ValueError(f"'sharpsim lm {args.lm_command}' is not available in this build")
    return importlib.import_module(module).main(args)
