"""``sharpsim.parallel.map_seeds``: bitwise the rows of ``jax.vmap``, on one device and on several.

In this process JAX has the devices it was started with (one CPU device unless ``XLA_FLAGS``
says otherwise); the tests that need several devices or processes start subprocesses with
``XLA_FLAGS=--xla_force_host_platform_device_count=4`` (set before JAX is imported) or with
``jax.distributed.initialize`` on localhost, and compare their rows bit for bit with a one-device
subprocess. Every comparison is exact (``np.array_equal`` on the arrays, or the CSV text).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sharpsim import parallel
from sharpsim.parallel import chunk_plan, device_summary, map_seeds

#: Subprocesses are killed after this many seconds (a hung collective must not hang the suite).
TIMEOUT = 300


def _matmul(key, a):
    x = jax.random.normal(key, (37, 19))
    y = x @ a
    return jnp.sum(jnp.exp(y), axis=0), jnp.sum(y)


def _reductions(key):
    x = jax.random.uniform(key, (40, 23))
    return {"lse": jax.nn.logsumexp(x, axis=1), "cum": jnp.cumsum(x[:, 0]), "top": jnp.sort(x, axis=1)[:, -1],
            "arg": jnp.argmax(x.sum(axis=0))}


def _scan(key, steps):
    def body(c, k):
        return c * 0.9 + jax.random.normal(k), c

    return jax.lax.scan(body, 0.0, jax.random.split(key, 50))[1][:steps.shape[0]]


A = jax.random.normal(jax.random.key(9), (19, 23))
CASES = [(_matmul, (A,)), (_reductions, ()), (_scan, (jnp.zeros(7),))]


def _vmap(fn, keys, args):
    return _jit_vmap(fn, len(args))(keys, *args)


@functools.cache
def _jit_vmap(fn, num_args):
    """``jit(vmap(fn))``, one object per function: the reference compiles once per shape."""
    return jax.jit(jax.vmap(fn, in_axes=(0,) + (None,) * num_args))


def _chunkwise(fn, keys, args, chunk):
    """The reference of a chunked run: ``vmap`` over chunks of exactly ``chunk`` keys, the last padded."""
    S = keys.shape[0]
    idx = np.minimum(np.arange(-(-S // chunk) * chunk), S - 1)
    parts = [_vmap(fn, keys[idx[i:i + chunk]], args) for i in range(0, len(idx), chunk)]
    return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs])[:S], *parts)


def _same(a, b) -> bool:
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y)
                                      for x, y in zip(la, lb))


@pytest.mark.parametrize("fn,args", CASES, ids=["matmul", "reductions", "scan"])
@pytest.mark.parametrize("S", [1, 13])
def test_one_shard_rows_are_bitwise_those_of_vmap(fn, args, S):
    keys = jax.random.split(jax.random.key(S), S)
    assert _same(map_seeds(fn, keys, args=args, shards=1), _vmap(fn, keys, args))


@pytest.mark.parametrize("fn,args", CASES, ids=["matmul", "reductions", "scan"])
@pytest.mark.parametrize("S,shards,chunk", [(13, None, 2), (16, None, 2), (5, None, 1), (13, 4, 4), (3, 8, 1)])
def test_default_shards_are_vmap_over_each_shard(fn, args, S, shards, chunk, monkeypatch):
    # the default K = 8 shards: chunks of ceil(S / K) keys, whatever the devices
    monkeypatch.delenv("SHARPSIM_SEED_SHARDS", raising=False)
    monkeypatch.delenv("SHARPSIM_SEED_CHUNK", raising=False)
    keys = jax.random.split(jax.random.key(S), S)
    got = map_seeds(fn, keys, args=args, shards=shards)
    assert _same(got, _chunkwise(fn, keys, args, chunk))
    assert parallel.DEFAULT_SHARDS == 8


def test_shards_from_the_environment(monkeypatch):
    fn, args = CASES[0]
    keys = jax.random.split(jax.random.key(4), 12)
    monkeypatch.setenv("SHARPSIM_SEED_SHARDS", "3")
    assert _same(map_seeds(fn, keys, args=args), _chunkwise(fn, keys, args, 4))
    monkeypatch.setenv("SHARPSIM_SEED_SHARDS", "1")
    assert _same(map_seeds(fn, keys, args=args), _vmap(fn, keys, args))
    assert _same(map_seeds(fn, keys, args=args, shards=6), _chunkwise(fn, keys, args, 2))  # the argument wins


@pytest.mark.parametrize("fn,args", CASES, ids=["matmul", "reductions", "scan"])
@pytest.mark.parametrize("S,max_chunk", [(13, 3), (13, 1), (5, 100)])
def test_chunked_rows_are_those_of_vmap_over_each_chunk(fn, args, S, max_chunk):
    keys = jax.random.split(jax.random.key(S), S)
    got = map_seeds(fn, keys, args=args, max_chunk=max_chunk, shards=1)
    assert _same(got, _chunkwise(fn, keys, args, min(S, max_chunk)))
    assert all(np.shape(x)[0] == S for x in jax.tree.leaves(got))


def test_elementwise_rows_do_not_depend_on_the_chunk():
    def fn(key):
        return jnp.exp(jax.random.normal(key, (5,))) * 3.0

    keys = jax.random.split(jax.random.key(0), 11)
    ref = _vmap(fn, keys, ())
    for chunk in (1, 2, 4, 11):
        assert _same(map_seeds(fn, keys, max_chunk=chunk), ref)


def test_compiles_once_for_every_chunk_and_call():
    traces = []

    def fn(key, scale):
        traces.append(1)
        return jax.random.uniform(key) * scale

    keys = jax.random.split(jax.random.key(1), 10)
    first = map_seeds(fn, keys, args=(2.0,), max_chunk=3)  # 4 chunks of one shape
    second = map_seeds(fn, keys, args=(5.0,), max_chunk=3)  # a new value, the same shape
    assert len(traces) == 1
    np.testing.assert_array_equal(second, first * 2.5)


def test_memory_budget_sets_the_chunk(monkeypatch):
    def fn(key):
        return jnp.sum(jax.random.normal(key, (64, 64)))

    keys = jax.random.split(jax.random.key(2), 9)
    monkeypatch.setenv("SHARPSIM_SEED_MEMORY", "1")  # one byte: every chunk holds one seed
    assert parallel.memory_budget() == 1
    assert _same(map_seeds(fn, keys, shards=1), _chunkwise(fn, keys, (), 1))
    monkeypatch.setenv("SHARPSIM_SEED_MEMORY", "4G")
    assert parallel.memory_budget() == 4 * 1024**3
    assert _same(map_seeds(fn, keys, shards=1), _vmap(fn, keys, ()))
    monkeypatch.setenv("SHARPSIM_SEED_CHUNK", "4")  # the default max_chunk
    assert _same(map_seeds(fn, keys, shards=1), _chunkwise(fn, keys, (), 4))
    assert _same(map_seeds(fn, keys, shards=3), _chunkwise(fn, keys, (), 3))  # ceil(9 / 3) < 4


@pytest.mark.parametrize("name,value", [("SHARPSIM_SEED_MEMORY", "lots"), ("SHARPSIM_SEED_MEMORY", "-3"),
                                        ("SHARPSIM_SEED_CHUNK", "0"), ("SHARPSIM_SEED_CHUNK", "two"),
                                        ("SHARPSIM_SEED_SHARDS", "0"), ("SHARPSIM_SEED_SHARDS", "many")])
def test_bad_environment_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        map_seeds(lambda k: jax.random.uniform(k), jax.random.split(jax.random.key(0), 3))


def test_cpu_concurrent_devices(monkeypatch):
    monkeypatch.delenv("SHARPSIM_CPU_DEVICES", raising=False)
    assert parallel.cpu_concurrent_devices() == max(1, len(os.sched_getaffinity(0)) - 1)
    monkeypatch.setenv("SHARPSIM_CPU_DEVICES", "3")
    assert parallel.cpu_concurrent_devices() == 3
    monkeypatch.setenv("SHARPSIM_CPU_DEVICES", "0")
    with pytest.raises(ValueError, match="SHARPSIM_CPU_DEVICES"):
        parallel.cpu_concurrent_devices()


def test_chunk_plan():
    assert chunk_plan(10, 1, 3) == {"chunk": 3, "num_chunks": 4, "devices": 1, "steps": 4, "slots": 3}
    assert chunk_plan(10, 4, 3) == {"chunk": 3, "num_chunks": 4, "devices": 4, "steps": 1, "slots": 12}
    assert chunk_plan(10, 4, 100) == {"chunk": 10, "num_chunks": 1, "devices": 1, "steps": 1, "slots": 10}
    assert chunk_plan(10, 4, 100, all_devices=True)["slots"] == 40
    assert chunk_plan(9, 2, 2) == {"chunk": 2, "num_chunks": 5, "devices": 2, "steps": 3, "slots": 4}


@pytest.mark.parametrize("kwargs,error,match", [
    ({"fn": 3}, TypeError, "`fn` must be callable"),
    ({"keys": np.zeros((4, 2), np.uint32)}, TypeError, "`keys` must be an array of typed PRNG keys"),
    ({"keys": jax.random.split(jax.random.key(0), (2, 3))}, ValueError, "`keys` must be 1-D"),
    ({"keys": jax.random.split(jax.random.key(0), 0)}, ValueError, "`keys` must be 1-D with at least one key"),
    ({"args": [1.0]}, TypeError, "`args` must be a tuple"),
    ({"devices": []}, ValueError, "`devices` must hold at least one device"),
    ({"devices": ["cpu"]}, TypeError, "`devices` must hold jax.Device"),
    ({"devices": "cpu"}, TypeError, "`devices` must be a sequence"),
    ({"max_chunk": 0}, ValueError, "max_chunk"),
    ({"max_chunk": 2.5}, (TypeError, ValueError), "max_chunk"),
    ({"shards": 0}, ValueError, "shards"),
    ({"shards": "8"}, (TypeError, ValueError), "shards"),
])
def test_bad_input_names_the_argument(kwargs, error, match):
    call = {"fn": lambda k: jax.random.uniform(k), "keys": jax.random.split(jax.random.key(0), 3), **kwargs}
    with pytest.raises(error, match=match):
        map_seeds(call.pop("fn"), call.pop("keys"), **call)


def test_inside_jit_is_refused():
    with pytest.raises(TypeError, match="`keys` must be concrete"):
        jax.jit(lambda keys: map_seeds(lambda k: jax.random.uniform(k), keys))(jax.random.split(jax.random.key(0), 3))


def test_repeated_device_is_refused():
    d = jax.devices()[0]
    with pytest.raises(ValueError, match="`devices` must not repeat"):
        map_seeds(lambda k: jax.random.uniform(k), jax.random.split(jax.random.key(0), 3), devices=[d, d])


def test_device_summary():
    s = device_summary()
    assert s["platform"] == jax.devices()[0].platform
    assert s["num_devices"] == len(jax.devices()) >= s["num_local_devices"] >= 1
    assert s["process_count"] == jax.process_count()
    assert isinstance(s["device_kind"], str) and s["device_kind"]


# --- several devices and processes: subprocesses ----------------------------------------------------------

_BATTERY = """
import hashlib, json, sys
import sharpsim, jax, jax.numpy as jnp, numpy as np
from sharpsim.parallel import map_seeds, device_summary

def matmul(key, a):
    y = jax.random.normal(key, (37, 19)) @ a
    return jnp.sum(jnp.exp(y), axis=0), jnp.sum(y)

def reductions(key):
    x = jax.random.uniform(key, (40, 23))
    return jax.nn.logsumexp(x, axis=1), jnp.cumsum(x[:, 0]), jnp.argmax(x.sum(axis=0))

a = jnp.linspace(-1, 1, 19 * 23).reshape(19, 23)
out = {"summary": device_summary()}
for S in (5, 13):
    keys = jax.random.split(jax.random.key(S), S)
    for chunk in (None, 3):
        for name, fn, args in (("matmul", matmul, (a,)), ("reductions", reductions, ())):
            rows = map_seeds(fn, keys, args=args, max_chunk=chunk)
            blob = b"".join(np.ascontiguousarray(r).tobytes() for r in jax.tree.leaves(rows))
            out[f"{name}/{S}/{chunk}"] = hashlib.sha256(blob).hexdigest()
print("RESULT" + json.dumps(out))
"""


def _env(devices: int, **extra) -> dict:
    """The environment of a subprocess with ``devices`` host devices, all of them computing at once."""
    drop = ("XLA_FLAGS", "SHARPSIM_SEED_CHUNK", "SHARPSIM_SEED_MEMORY", "SHARPSIM_CPU_DEVICES", "SHARPSIM_SEED_SHARDS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        env["SHARPSIM_CPU_DEVICES"] = str(devices)  # these trials call no LAPACK: see cpu_concurrent_devices
    env["JAX_PLATFORMS"] = "cpu"
    env.update(extra)
    return env


def _run(code: str, env: dict, *args) -> str:
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def _result(stdout: str) -> dict:
    return json.loads(next(line for line in stdout.splitlines() if line.startswith("RESULT"))[len("RESULT"):])


def test_four_host_devices_give_the_one_device_rows():
    one = _result(_run(_BATTERY, _env(1)))
    four = _result(_run(_BATTERY, _env(4)))
    assert one.pop("summary")["num_devices"] == 1
    assert four.pop("summary")["num_devices"] == 4
    assert one == four


_FIGURES = """
import sys
import sharpsim.figures as F
F.generate(sys.argv[2:], out=sys.argv[1], mode="testing", progress=False, log=lambda s: None, jobs=1)
"""

#: Figures whose trials call a batched LAPACK routine (``eigh``): on one process at most
#: ``cpu_concurrent_devices()`` of their host devices may compute at once (see that function).
LAPACK_FIGURES = ("rlhf_beta", "separation", "exploration", "xpo_dimension")


def _csvs(tmp_path: Path, tag: str, names, env) -> dict:
    out = tmp_path / tag
    _run(_FIGURES, env, out, *names)
    return {n: (out / f"{n}.csv").read_text() for n in names}


def _figure_names():
    from sharpsim import figures

    return list(figures.FIGURES)


@pytest.mark.slow
@pytest.mark.devices
@pytest.mark.parametrize("name", _figure_names())
def test_every_figure_rows_do_not_depend_on_the_device_count(tmp_path, name):
    """Every figure's ``testing`` CSV on 1 and on 4 host devices (CI runs these: ``-m devices``)."""
    one = _csvs(tmp_path, "one", [name], _env(1))
    # LAPACK trials: at most cpu_concurrent_devices() devices at once (1 on 2 CPUs); the others: all 4
    at_once = min(4, max(1, len(os.sched_getaffinity(0)) - 1)) if name in LAPACK_FIGURES else 4
    four = _csvs(tmp_path, "four", [name], _env(4, SHARPSIM_CPU_DEVICES=str(at_once)))
    assert len(one[name].splitlines()) > 1
    assert four == one


_WORKER = """
import hashlib, json, sys
pid, nproc, port = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import jax
if nproc > 1:
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=nproc, process_id=pid)
import sharpsim, jax.numpy as jnp, numpy as np
from sharpsim.parallel import map_seeds, device_summary

def fn(key, a, scale):
    y = jax.random.normal(key, (37, 19)) @ a
    return jnp.sum(y) * scale, jnp.cumsum(y[:, 2]), jnp.arange(3, dtype=jnp.int32) * scale

a = jnp.linspace(0, 1, 19 * 23).reshape(19, 23)
keys = jax.random.split(jax.random.key(3), 10)
out = {"summary": device_summary()}
for chunk in (3, 2, None):
    rows = map_seeds(fn, keys, args=(a, 3), devices=jax.devices(), max_chunk=chunk)
    out[str(chunk)] = [[str(r.dtype), np.asarray(r).tolist()] for r in rows]
print("RESULT" + json.dumps(out), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_give_the_one_process_rows():
    single = _result(_run(_WORKER, _env(1), 0, 1, 0))
    port = _free_port()
    env = _env(1)  # one CPU device per process: two devices in all
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(i), "2", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, stderr[-4000:]
            outs.append(_result(stdout))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert single.pop("summary")["process_count"] == 1
    for out in outs:
        summary = out.pop("summary")
        assert (summary["process_count"], summary["num_devices"], summary["num_local_devices"]) == (2, 2, 1)
        assert out == single  # every process holds every row, bitwise those of one process
