"""The site build shared by the tests of ``tests/docs/`` (one build per test run).

The build (``sharpsim.site.build``: Sphinx with ``-W``, every lecture executed) takes minutes, so
it is made once per run: into the run's temporary folder, under a file lock, so that pytest-xdist
workers would share it (today one test uses it, ``test_browser.test_site_in_browser``). A failed build is
recorded so that a second user fails at once with the same message instead of building again.

``SHARPSIM_SITE_BUILT=DIR`` makes the tests use a site built already into ``DIR`` (by
``sharpsim docs build --out DIR``) instead of building one: a quick rerun of the browser checks.

Without the ``docs`` extra the tests that need the build skip, except under ``CI=true``, where
they fail: CI installs the extra, so a missing one is a broken setup, not a reason to skip.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
from pathlib import Path

import pytest

ON_CI = os.environ.get("CI", "").lower() in ("true", "1")


def require(condition: bool, reason: str) -> None:
    """Skips the test when ``condition`` is false; fails it instead when running on CI."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"{reason} (CI=true: CI must install it; see .ci/run)")
    pytest.skip(reason)


def docs_extra_installed() -> bool:
    """Whether the ``docs`` extra (Sphinx, myst-nb, the theme) and the ``teach`` extra are importable."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("sphinx", "myst_nb", "sphinx_book_theme", "jupytext", "nbclient", "ipykernel"))


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """The HTML site built once per test run (shared by the xdist workers): its output folder."""
    prebuilt = os.environ.get("SHARPSIM_SITE_BUILT")
    if prebuilt:  # a site built already (`sharpsim docs build --out DIR`), to rerun the browser checks fast
        if not (Path(prebuilt) / "index.html").is_file():
            pytest.fail(f"SHARPSIM_SITE_BUILT={prebuilt} holds no built site (index.html)")
        return Path(prebuilt)
    require(docs_extra_installed(), "the docs and teach extras are not installed: pip install -e '.[docs,teach]'")
    from sharpsim import site

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this run
    out, status = base / "site-html", base / "site-build.status"
    with open(base / "site-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if status.exists():
            verdict = status.read_text()
            if verdict != "ok":
                pytest.fail(f"the site build failed (in another worker): {verdict}")
            return out
        try:
            site.build(out, quiet=True)
        except Exception as err:
            status.write_text(f"{type(err).__name__}: {err}")
            raise
        status.write_text("ok")
    return out
