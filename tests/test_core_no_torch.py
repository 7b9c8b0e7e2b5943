"""The core (and the CLI's parser, including ``sharpsim lm``) never imports torch."""

from __future__ import annotations

import subprocess
import sys


def test_core_and_cli_parser_do_not_import_torch():
    code = ("import sys, sharpsim, sharpsim.bridge, sharpsim.bridge.cli, sharpsim.cli;"
            "sharpsim.cli._parser();"
            "heavy = sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules);"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the core imported {out.stdout.strip()}"
