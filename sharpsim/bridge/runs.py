"""Resumable run directories for the ``sharpsim lm`` commands (pure Python; never imports torch).

A run directory holds one command's outputs::

    out/
      manifest.json     command, config, model path + fingerprint, seeds, versions, times, status
      <table>.jsonl     append-only result tables (one JSON object per line, fsynced per append)
      *.csv, *.json     tidy summaries written at the end (atomic replace)

Resuming: constructing :class:`RunDir` on an existing run directory with the same command,
config and model fingerprint continues it — :meth:`RunDir.done` gives the ids already written
so that a command skips them. A different config raises ``ValueError`` naming the differing
keys. ``overwrite=True`` deletes a previous run directory (only one that has a
``manifest.json``; a non-empty folder without one is never deleted).

Crash safety: every :meth:`RunDir.append` writes its lines in one ``write`` call, then flushes
and fsyncs, so a crash loses at most the append in progress. A killed write can leave a last
line without its newline; such a partial last line is dropped when read and cut off the file
before the next append (so the prompt it belonged to is not in :meth:`RunDir.done` and is redone).
A malformed line that is *not* the last line means the file was damaged some other way and
raises ``ValueError`` with its line number.

Several processes (``torchrun``): only rank 0 writes. The other ranks open the same folder with
``writer=False`` after rank 0 has created (or resumed, or overwritten) it: they read and check it
as rank 0 does, and their :meth:`RunDir.append`, :meth:`RunDir.write_csv`,
:meth:`RunDir.write_json` and :meth:`RunDir.finish` write nothing (see
:mod:`sharpsim.bridge.distributed`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from sharpsim import records

__all__ = ["MANIFEST", "RunDir", "model_fingerprint", "versions"]

MANIFEST = "manifest.json"

#: file names hashed by :func:`model_fingerprint` (config, weights, tokenizer, adapters)
_MODEL_SUFFIXES = (".json", ".safetensors", ".bin", ".pt", ".model", ".txt", ".tiktoken", ".gguf")

_VERSIONED = ("sharpsim", "numpy", "torch", "transformers", "peft", "safetensors", "matplotlib")


def versions() -> dict[str, str | None]:
    """Versions of python and of the installed packages a bridge run depends on (``None`` if absent).

    Read from package metadata, so nothing (torch in particular) is imported.

    Returns:
      ``{"python": ..., "sharpsim": ..., "numpy": ..., "torch": ..., "transformers": ..., "peft": ...,
      "safetensors": ..., "matplotlib": ...}``.
    """
    return records.versions(_VERSIONED)


def model_fingerprint(path) -> str:
    """Hex sha256 over a model directory's config, weight and tokenizer files (names and bytes).

    Hashes every file under ``path`` (recursively, hidden files and folders skipped) whose name
    ends in one of ``.json .safetensors .bin .pt .model .txt .tiktoken .gguf``, in sorted order of
    their relative paths; a single file is hashed alone. Two directories with the same such
    files give the same fingerprint wherever they are.

    Raises:
      FileNotFoundError: ``path`` does not exist.
      ValueError: ``path`` is a directory with no such file.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"model path {str(root)!r} does not exist")
    if root.is_file():
        files = [root]
        base = root.parent
    else:
        base = root
        files = sorted(
            (p for p in root.rglob("*")
             if p.is_file() and p.name.endswith(_MODEL_SUFFIXES)
             and not any(part.startswith(".") for part in p.relative_to(root).parts)),
            key=lambda p: p.relative_to(root).as_posix())
        if not files:
            raise ValueError(f"model path {str(root)!r} holds no config, weight or tokenizer file "
                             f"(none ending in {', '.join(_MODEL_SUFFIXES)})")
    digest = hashlib.sha256()
    for f in files:
        rel = f.relative_to(base).as_posix().encode()
        digest.update(len(rel).to_bytes(8, "little") + rel)
        digest.update(f.stat().st_size.to_bytes(8, "little"))
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"{what} must be a plain file name (no folders, not hidden), got {name!r}")
    return name


class RunDir:
    """One command's output folder: manifest, append-only JSONL tables, summaries (see the module doc).

    Args:
      out: the folder (created with its parents).
      command: the command name, e.g. ``"bon"``; resuming under another command raises.
      config: the settings that determine the results (JSON-able; numpy values are converted).
        Leave out settings that do not change results (progress bars, device), so that a run can
        be resumed with them changed. Keys whose name contains ``seed`` are also listed under
        ``"seeds"`` in the manifest.
      model_path: the model folder; its path and :func:`model_fingerprint` go into the manifest,
        and a resumed run whose model files changed raises (key ``model_fingerprint``).
      overwrite: delete an existing run directory at ``out`` first (ignored when ``writer`` is False).
      writer: False for a rank other than 0 of a multi-process job: the folder is read and checked
        (resuming with a different config still raises) but never created, deleted or written;
        the write methods return without writing. The model fingerprint is taken from the
        manifest rank 0 wrote (the model files are not hashed again).

    Raises:
      ValueError: resuming with a different command, config or model (the message names the
        keys), or ``out`` is a non-empty folder that is not a run directory, or a file.
      FileNotFoundError: ``model_path`` does not exist.
    """

    def __init__(self, out, *, command: str, config: dict, model_path=None, overwrite: bool = False,
                 writer: bool = True):
        self.path = Path(out)
        self.writer = bool(writer)
        self.command = str(command)
        self.config = records.jsonable(dict(config))
        self.model_path = None if model_path is None else str(Path(model_path).resolve())
        manifest_file = self.path / MANIFEST
        if model_path is None:
            fingerprint = None
        elif not self.writer and manifest_file.is_file():
            # rank 0 has hashed the model files and checked them; the other ranks take its value
            # rather than read every weight file again
            fingerprint = json.loads(manifest_file.read_text(encoding="utf-8")).get("model_fingerprint")
        else:
            fingerprint = model_fingerprint(model_path)
        #: tables in which a partial last line (a killed write) was found and dropped
        self.partial_tables: set[str] = set()
        self.read_only = False
        self._t0 = time.time()
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"out={str(self.path)!r} is a file; give a folder for the run")
        if self.path.is_dir() and not manifest_file.exists() and any(self.path.iterdir()):
            raise ValueError(f"out={str(self.path)!r} is a non-empty folder without {MANIFEST}, so not a "
                             "sharpsim run directory; choose a new or empty folder")
        if overwrite and self.writer and manifest_file.exists():
            shutil.rmtree(self.path)
        if self.writer:
            self.path.mkdir(parents=True, exist_ok=True)
        previous = None
        if manifest_file.exists():
            previous = json.loads(manifest_file.read_text(encoding="utf-8"))
            self._check_same(previous, fingerprint)
        self.resumed = previous is not None
        now = records.utc_now(self._t0)
        self.manifest = {
            "command": self.command,
            "config": self.config,
            "seeds": {k: v for k, v in self.config.items() if "seed" in k.lower()},
            "model_path": self.model_path,
            "model_fingerprint": fingerprint,
            "versions": versions(),
            "started_at": previous["started_at"] if previous else now,
            "invocations": [*(previous.get("invocations", []) if previous else []), now],
            "finished": False,
            "seconds": previous.get("seconds", 0.0) if previous else 0.0,
        }
        self._write_manifest()

    @classmethod
    def open(cls, out) -> RunDir:
        """A read-only view of an existing run directory (e.g. another command's inputs).

        :meth:`read` and :meth:`done` work; the manifest is loaded into ``.manifest`` (and
        ``.command``, ``.config``) and never rewritten; appends and writes raise ``ValueError``.

        Raises:
          FileNotFoundError: ``out`` has no ``manifest.json``.
        """
        path = Path(out)
        manifest_file = path / MANIFEST
        if not manifest_file.is_file():
            raise FileNotFoundError(f"{str(path)!r} is not a run directory (no {MANIFEST})")
        self = cls.__new__(cls)
        self.path = path
        self.manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        self.command = self.manifest.get("command")
        self.config = self.manifest.get("config", {})
        self.model_path = self.manifest.get("model_path")
        self.partial_tables = set()
        self.resumed = True
        self.read_only = True
        self.writer = False
        self._t0 = time.time()
        return self

    def _writable(self) -> None:
        if getattr(self, "read_only", False):
            raise ValueError(f"the run directory {str(self.path)!r} was opened read-only (RunDir.open)")

    def _check_same(self, previous: dict, fingerprint: str | None) -> None:
        if previous.get("command") != self.command:
            raise ValueError(f"out={str(self.path)!r} holds a {previous.get('command')!r} run, not "
                             f"{self.command!r}; use another --out or --overwrite")
        old = previous.get("config", {})
        differ = sorted(k for k in set(old) | set(self.config) if old.get(k, "<unset>") != self.config.get(k, "<unset>"))
        if fingerprint is not None and previous.get("model_fingerprint") not in (None, fingerprint):
            differ.append("model_fingerprint")
        if differ:
            detail = "; ".join(
                f"{k}: {old.get(k, '<unset>')!r} -> {self.config.get(k, '<unset>')!r}" if k != "model_fingerprint"
                else "model_fingerprint: the model files changed" for k in differ)
            raise ValueError(f"cannot resume the run in {str(self.path)!r}: config differs in "
                             f"{', '.join(differ)} ({detail}); use another --out or --overwrite")

    def _write_manifest(self) -> None:
        if not self.writer:
            return
        records.write_json(self.path / MANIFEST, self.manifest)

    def _table(self, table: str) -> Path:
        _check_name(table, "table")
        return self.path / f"{table.removesuffix('.jsonl')}.jsonl"

    def read(self, table: str) -> list[dict]:
        """The rows of ``out/<table>.jsonl`` in file order (``[]`` if absent); a partial last line is dropped.

        A dropped partial line (a killed write) adds the table's name to :attr:`partial_tables`.

        Raises:
          ValueError: a line other than the last is not a JSON object (names the file and line).
        """
        rows, partial = records.read_jsonl(self._table(table))
        if partial:
            self.partial_tables.add(table.removesuffix(".jsonl"))
        return rows

    def done(self, table: str) -> set[str]:
        """The ids (``row["id"]``, else ``row["example_id"]``) of the complete rows in ``out/<table>.jsonl``."""
        out = set()
        for row in self.read(table):
            key = row.get("id", row.get("example_id"))
            if key is not None:
                out.add(str(key))
        return out

    def append(self, table: str, rows: Sequence[dict]) -> None:
        """Append ``rows`` to ``out/<table>.jsonl`` as JSON lines in one write, then flush and fsync
        (nothing when the run is not the writer).

        Raises:
          ValueError: the run was opened read-only, or a row is not a dict (names its index).
        """
        self._writable()
        path = self._table(table)
        if not self.writer:
            return
        if records.append_jsonl(path, rows):
            self.partial_tables.add(path.stem)

    def write_csv(self, name: str, rows: Sequence[dict]) -> Path:
        """Write ``rows`` to ``out/<name>.csv`` (columns: the union of keys, in first-seen order); atomic.

        Raises:
          ValueError: the run was opened read-only, or ``name`` is not a plain file name.
        """
        self._writable()
        _check_name(name, "name")
        path = self.path / (name if name.endswith(".csv") else f"{name}.csv")
        if not self.writer:
            return path
        return records.write_csv(path, rows)

    def write_json(self, name: str, obj) -> Path:
        """Write ``obj`` to ``out/<name>.json`` (indented; non-finite floats as ``null``); atomic.

        Raises:
          ValueError: the run was opened read-only, or ``name`` is not a plain file name.
        """
        self._writable()
        _check_name(name, "name")
        path = self.path / (name if name.endswith(".json") else f"{name}.json")
        if not self.writer:
            return path
        return records.write_json(path, obj)

    def finish(self, summary: dict) -> Path:
        """Write ``out/summary.json`` and mark the manifest finished with the total seconds of all invocations (the ``invocations`` list of the manifest)."""
        path = self.write_json("summary", summary)
        self.manifest["finished"] = True
        self.manifest["finished_at"] = records.utc_now()
        self.manifest["seconds"] = round(float(self.manifest["seconds"]) + time.time() - self._t0, 3)
        self._write_manifest()
        return path
