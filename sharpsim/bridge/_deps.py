"""The bridge's optional dependencies, imported on first use with one clear error."""

from __future__ import annotations

import importlib

_INSTALL = ("the LM bridge needs the 'lm' extra: pip install torch==2.13.0 (or any torch>=2.1 build "
            "for your machine) and then pip install 'sharpsim[lm]'")


def require(module: str):
    """Import ``module`` (torch, transformers, peft, ...) or raise ImportError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"{module} is not installed; {_INSTALL}") from err
