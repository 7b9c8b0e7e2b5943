"""``LMPolicy``: a local Hugging Face causal LM as a policy π(y|x) that samples and scores responses.

Definitions (theory/bridge_policy.md has the full note):

* A prompt ``x`` is the token ids :meth:`LMPolicy.encode_prompts` gives: the tokenizer's encoding
  *with* its special tokens (our character-level models: ``[<bos>] + chars``; GPT-2's own: no BOS;
  Llama-style: ``[<s>] + ...``). A prompt that encodes to zero tokens gets the BOS id (else the EOS
  id) prepended, so that its first response token has a context to be scored from.
* A response ``y`` is the generated ids cut just after the first EOS (kept; it is part of the
  response and is scored). Text responses are encoded without special tokens and EOS appended
  (:meth:`LMPolicy.encode_responses`).
* ``log π(y|x)`` is the sum over response tokens of the fp32 log-softmax of the model's logits at
  temperature 1, by one teacher-forced pass with padding and post-EOS tokens masked
  (:func:`sharpsim.bridge.scoring.response_log_probs`) — whatever temperature/top-p the response was
  sampled at. Generation scores are never used as log-probabilities.

Pad and EOS:

* EOS is the tokenizer's ``eos_token_id``. If the tokenizer has one, generation stops at it.
* Pad is the tokenizer's ``pad_token_id``; if it has none, EOS is used as pad (attention masks
  make the pad id irrelevant to every score). If the tokenizer has neither pad nor EOS,
  generation always runs to ``max_new_tokens`` (``hit_eos`` is False) and pad is the BOS id, else
  the UNK id, else 0 — any valid id works, since pads are masked.

Seeding: the draws of prompt ``i`` come from a torch generator state seeded by
``numpy.random.SeedSequence([seed, prompt_ids[i], first_draw_index])`` for each ``generate`` call,
so they depend only on ``(seed, prompt identity, sequences per call)`` — not on which other
prompts are in the call. A resumed run that samples only unfinished prompts (passing their
original identities as ``prompt_ids``) gets the same draws. The caller's global torch RNG state
is saved and restored around each call.

vLLM: when ``vllm`` is importable and the model sits on a GPU, :meth:`LMPolicy.sample` draws
through vLLM's engine (``backend="auto"``; force either with ``backend="hf"``/``"vllm"``); scores
still come from the teacher-forced pass above. vLLM is never required. ``tensor_parallel=K``
(:meth:`LMPolicy.from_pretrained`) builds vLLM's engine with ``tensor_parallel_size=K``; inside a
multi-process ``torch.distributed`` job ``"auto"`` never picks vLLM (it starts its own workers).

OOM: if ``generate`` (or a scoring pass) raises an out-of-memory error, the number of sequences
per call is halved and the call retried, down to 1, after which the error is re-raised. The
smaller size is kept for the rest of the call. A call that shrank draws different (equally valid)
samples than one that did not, because the draws of a ``generate`` call depend on its batch size.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from sharpsim.bridge import scoring
from sharpsim.bridge._deps import require

torch = require("torch")
transformers = require("transformers")

#: default rows per teacher-forced scoring pass
SCORE_BATCH = 64
#: default prompts per batched greedy ``generate`` call (left padding)
GREEDY_BATCH = 32


@dataclasses.dataclass
class Samples:
    """Sampled responses, one row per draw, prompt-major: row ``i * n + j`` is draw ``j`` of prompt ``i``.

    Attributes:
        prompt_index: ``[M]`` int, the prompt's position in the ``prompts`` argument.
        sample_index: ``[M]`` int, the draw's index ``j`` in ``0..n-1``.
        tokens: ``M`` lists of response token ids, cut just after the first EOS (EOS kept).
        text: ``M`` decoded responses, special tokens skipped.
        log_prob: ``[M]`` float64 holding the fp32 teacher-forced ``log π(y|x)`` at temperature 1 (nats).
        length: ``[M]`` int, response tokens (EOS included).
        hit_eos: ``[M]`` bool, whether the response ended with EOS (else it hit ``max_new_tokens``).
        settings: ``n, temperature, top_p, max_new_tokens, seed, greedy`` (and ``prompt_ids``,
            ``sequences_per_call``) of the call that drew them.
    """

    prompt_index: np.ndarray
    sample_index: np.ndarray
    tokens: list[list[int]]
    text: list[str]
    log_prob: np.ndarray
    length: np.ndarray
    hit_eos: np.ndarray
    settings: dict

    def __len__(self) -> int:
        return len(self.tokens)


class _DropPaddedDecodeWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "strongly recommend passing in an `attention_mask`" not in record.getMessage()


_PADDED_DECODE_WARNING = _DropPaddedDecodeWarning()


def _is_oom(err: BaseException) -> bool:
    oom_type = getattr(torch, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(err, oom_type):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _free_memory(device) -> None:
    if getattr(device, "type", None) == "cuda":
        torch.cuda.empty_cache()


def _resolve_device(device):
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_texts(name: str, texts) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise ValueError(f"{name} must be a sequence of strings (a list), got {type(texts).__name__}")
    for k, t in enumerate(texts):
        if not isinstance(t, str):
            raise ValueError(f"{name}[{k}] must be a string, got {type(t).__name__}")
    return list(texts)


def _placement(*, device, device_map, max_memory, offload_folder, tensor_parallel: int) -> dict:
    """The ``from_pretrained`` placement kwargs (``device_map``, ``max_memory``, ``offload_folder``),
    ``{}`` for a one-device load; raises ``ValueError`` on a bad combination (see ``from_pretrained``)."""
    if device_map is not None and not (device_map == "auto" or isinstance(device_map, dict)):
        raise ValueError(f"device_map must be None, 'auto' or a dict of module name -> device, got {device_map!r}")
    if device_map is not None and device is not None:
        raise ValueError("give device or device_map, not both (device_map places the model itself)")
    if device_map is None and (max_memory is not None or offload_folder is not None):
        raise ValueError("max_memory and offload_folder need device_map (they tell accelerate where layers may go)")
    if max_memory is not None and not isinstance(max_memory, dict):
        raise ValueError(f"max_memory must be a dict of device -> bytes, got {type(max_memory).__name__}")
    out: dict[str, Any] = {}
    if tensor_parallel > 1 and device_map is None:
        if device is not None and str(device) != "cuda":
            raise ValueError(f"tensor_parallel={tensor_parallel} spans GPUs 0..{tensor_parallel - 1}; device must be "
                             f"None or 'cuda', got {str(device)!r}")
        found = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if found < tensor_parallel:
            raise ValueError(f"tensor_parallel={tensor_parallel} needs {tensor_parallel} CUDA devices, found {found}; "
                             "use device_map='auto' (--device-map auto) to let accelerate place the model on the "
                             "devices there are, or tensor_parallel=1")
        device_map = "auto"
        max_memory = {i: torch.cuda.mem_get_info(i)[0] for i in range(tensor_parallel)}
    if device_map is not None:
        out["device_map"] = device_map
        if max_memory is not None:
            out["max_memory"] = max_memory
        if offload_folder is not None:
            out["offload_folder"] = str(offload_folder)
    return out


def _draw_seed(seed: int, prompt_id: int, first_draw: int) -> int:
    return int(np.random.SeedSequence([seed, prompt_id, first_draw]).generate_state(1, np.uint64)[0] >> 1)


class LMPolicy:
    """A causal LM with its tokenizer: ``sample``, ``greedy``, ``log_prob`` (see the module doc).

    Attributes:
        model: the ``transformers`` (or peft-wrapped) causal LM.
        tokenizer: its tokenizer (never modified).
        device: ``torch.device`` the model runs on.
        path: the directory it was loaded from, or None (:meth:`from_model`).
        tensor_parallel: GPUs vLLM's engine spans (``tensor_parallel_size``), 1 unless loaded with
            ``tensor_parallel=K``.
        eos_token_id: the tokenizer's EOS id, or None (then generation runs to ``max_new_tokens``).
        pad_token_id: the id used for padding (see the module doc for the fallbacks).
    """

    def __init__(self, model, tokenizer, *, device, path=None, tensor_parallel: int = 1):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.path = None if path is None else Path(path)
        self.tensor_parallel = _check_int("tensor_parallel", tensor_parallel, 1)
        eos = tokenizer.eos_token_id
        self.eos_token_id = None if eos is None else int(eos)
        self.bos_token_id = None if tokenizer.bos_token_id is None else int(tokenizer.bos_token_id)
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = self.eos_token_id
        if pad is None:
            pad = self.bos_token_id
        if pad is None:
            pad = tokenizer.unk_token_id
        self.pad_token_id = 0 if pad is None else int(pad)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(cls, path, *, device=None, dtype=None, device_map=None, max_memory=None,
                        offload_folder=None, tensor_parallel: int = 1) -> LMPolicy:
        """Load a causal LM and its tokenizer from a local directory (never the network).

        ``local_files_only=True``, ``trust_remote_code=False``, ``use_safetensors=True``; any
        ``AutoModelForCausalLM``; the model is put in eval mode.

        A model larger than one GPU: ``device_map="auto"`` lets accelerate place its layers over
        every visible GPU (then the CPU, then ``offload_folder`` on disk, within ``max_memory``);
        ``tensor_parallel=K > 1`` does the same over GPUs ``0..K-1`` only (``max_memory`` set to
        their free memory, no CPU or disk) and, with the ``vllm`` backend, shards vLLM's engine
        over ``K`` GPUs (``tensor_parallel_size=K``). The layers run one after another (accelerate
        moves activations between devices), so the scores are those of a one-device load, up to
        the kernels of the devices the layers land on (on the CPU they are equal).

        Args:
            path: a local directory with ``config.json``, safetensors weights and a tokenizer.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, a ``torch.device``; None -> cuda if
                available, else cpu. Not with ``device_map``.
            dtype: a ``torch.dtype`` or its name (``"bfloat16"``); None -> the checkpoint's dtype
                on a GPU and float32 on CPU (half precision on CPU is slow and inexact).
            device_map: None (the whole model on ``device``), ``"auto"``, or an explicit
                module-name -> device dict; passed to ``from_pretrained`` (accelerate).
            max_memory: device -> bytes (or ``"20GiB"``) caps for ``device_map``; only with it.
            offload_folder: where accelerate puts layers offloaded to disk; only with ``device_map``.
            tensor_parallel: GPUs one copy of the model spans (integer ``>= 1``); see above.

        Raises:
            FileNotFoundError: ``path`` does not exist or is not a directory.
            ValueError: it is not a causal LM (no ``config.json``, a model type with no causal-LM
                class, no loadable safetensors weights, or no tokenizer); or a bad placement:
                ``tensor_parallel`` not an integer >= 1, ``tensor_parallel > 1`` with fewer CUDA
                devices than that (no CPU fallback: use ``device_map="auto"``) or with ``device``
                other than None/``"cuda"``, ``device_map`` not ``"auto"`` or a dict, ``device_map``
                with ``device``, ``max_memory``/``offload_folder`` without ``device_map``.
        """
        tensor_parallel = _check_int("tensor_parallel", tensor_parallel, 1)
        placement = _placement(device=device, device_map=device_map, max_memory=max_memory,
                               offload_folder=offload_folder, tensor_parallel=tensor_parallel)
        p = Path(os.fspath(path)).expanduser()
        if not p.is_dir():
            raise FileNotFoundError(f"model path {str(p)!r} does not exist or is not a directory "
                                    "(models load from a local directory only)")
        if not (p / "config.json").is_file():
            raise ValueError(f"model path {str(p)!r} is not a causal LM: it has no config.json")
        try:
            config = transformers.AutoConfig.from_pretrained(p, local_files_only=True, trust_remote_code=False)
        except Exception as err:  # any parse failure means "not a model we can load"
            raise ValueError(f"model path {str(p)!r} is not a causal LM: its config.json does not load "
                             f"({type(err).__name__}: {err})") from err
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

        if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
            raise ValueError(f"model path {str(p)!r} is not a causal LM: model type "
                             f"{getattr(config, 'model_type', None)!r} has no AutoModelForCausalLM class")
        dev = _resolve_device(None if placement else device)
        if dtype is None:
            torch_dtype = "auto" if dev.type != "cpu" else torch.float32
        elif isinstance(dtype, str):
            torch_dtype = getattr(torch, dtype, None)
            if not isinstance(torch_dtype, torch.dtype):
                raise ValueError(f"dtype must be a torch dtype or its name (e.g. 'bfloat16'), got {dtype!r}")
        elif isinstance(dtype, torch.dtype):
            torch_dtype = dtype
        else:
            raise ValueError(f"dtype must be a torch dtype or its name (e.g. 'bfloat16'), got {dtype!r}")
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                p, local_files_only=True, trust_remote_code=False, use_safetensors=True, dtype=torch_dtype,
                **placement)
        except (OSError, ValueError) as err:
            raise ValueError(f"model path {str(p)!r} is not a loadable causal LM (safetensors weights "
                             f"needed): {type(err).__name__}: {err}") from err
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(p, local_files_only=True,
                                                                   trust_remote_code=False)
        except Exception as err:
            raise ValueError(f"model path {str(p)!r} has no loadable tokenizer: "
                             f"{type(err).__name__}: {err}") from err
        if placement:
            model.eval()
            dev = scoring.input_device(model)
        else:
            model.to(dev).eval()
        return cls(model, tokenizer, device=dev, path=p, tensor_parallel=tensor_parallel)

    @classmethod
    def from_model(cls, model, tokenizer, *, device=None) -> LMPolicy:
        """Wrap an in-memory model (tests, peft models) and tokenizer.

        ``device`` None keeps the model where it is; otherwise the model is moved there. The
        model's train/eval mode is left as it is; sampling and scoring run in eval mode and
        restore the previous mode afterwards.
        """
        if device is None:
            dev = scoring.input_device(model)
        else:
            dev = torch.device(device)
            model.to(dev)
        return cls(model, tokenizer, device=dev, path=None)

    # ------------------------------------------------------------------ encoding
    def encode_prompts(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of each prompt, exactly as used for sampling and scoring (see the module doc)."""
        prompts = _check_texts("prompts", prompts)
        out = []
        for k, text in enumerate(prompts):
            ids = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
            if not ids:
                start = self.bos_token_id if self.bos_token_id is not None else self.eos_token_id
                if start is None:
                    raise ValueError(f"prompts[{k}] encodes to zero tokens and the tokenizer has neither a BOS "
                                     "nor an EOS token to start it with; give a non-empty prompt")
                ids = [start]
            out.append([int(t) for t in ids])
        return out

    def encode_responses(self, responses: Sequence[str]) -> list[list[int]]:
        """Token ids of each response text (no special tokens) with EOS appended (if the tokenizer has one)."""
        responses = _check_texts("responses", responses)
        tail = [] if self.eos_token_id is None else [self.eos_token_id]
        return [[int(t) for t in self.tokenizer(r, add_special_tokens=False)["input_ids"]] + tail
                for r in responses]

    def _decode(self, tokens: Sequence[int]) -> str:
        return self.tokenizer.decode(list(tokens), skip_special_tokens=True)

    # ------------------------------------------------------------------ helpers
    @contextmanager
    def _eval_mode(self):
        was_training = bool(getattr(self.model, "training", False))
        self.model.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            if was_training:
                self.model.train()

    def _max_positions(self) -> int | None:
        cfg = getattr(self.model, "config", None)
        value = getattr(cfg, "max_position_embeddings", None) if cfg is not None else None
        return int(value) if isinstance(value, int) else None

    def _check_length(self, encoded: list[list[int]], max_new_tokens: int) -> None:
        limit = self._max_positions()
        if limit is None:
            return
        longest = max(len(ids) for ids in encoded)
        if longest + max_new_tokens > limit:
            raise ValueError(f"max_new_tokens={max_new_tokens} plus the longest prompt ({longest} tokens) "
                             f"exceeds the model's max_position_embeddings={limit}; lower max_new_tokens")

    def _generation_kwargs(self, *, do_sample: bool, temperature: float, top_p: float,
                           max_new_tokens: int) -> dict[str, Any]:
        # Every knob that changes the sampling law is set explicitly, so that a checkpoint's
        # generation_config.json (e.g. top_k=50, temperature=0.6) cannot change it silently.
        kwargs: dict[str, Any] = dict(
            do_sample=do_sample, max_new_tokens=max_new_tokens, min_new_tokens=0, num_beams=1,
            repetition_penalty=1.0, no_repeat_ngram_size=0, pad_token_id=self.pad_token_id,
            # [] rather than None: None would be filled from the checkpoint's generation_config
            eos_token_id=self.eos_token_id if self.eos_token_id is not None else [],
            renormalize_logits=False)
        if do_sample:  # top_k=0 turns off the library's default top-k of 50
            kwargs.update(temperature=float(temperature), top_p=float(top_p), top_k=0, typical_p=1.0,
                          epsilon_cutoff=0.0, eta_cutoff=0.0)
        return kwargs

    def _generate(self, input_ids, attention_mask, *, num_return_sequences: int, **kwargs):
        """One ``model.generate`` call; returns ``[B * num_return_sequences, L]`` ids (prompt included).

        Inside ``generate``, decode steps feed the pad token to rows that already finished and
        transformers then warns "We strongly recommend passing in an `attention_mask`". Those rows'
        later tokens are discarded (cut after EOS), so the warning is spurious here; that one
        message is filtered, only during this call.
        """
        log = logging.getLogger("transformers.modeling_utils")
        log.addFilter(_PADDED_DECODE_WARNING)
        try:
            out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                      num_return_sequences=num_return_sequences, **kwargs)
        finally:
            log.removeFilter(_PADDED_DECODE_WARNING)
        return out if isinstance(out, torch.Tensor) else out.sequences

    def _retry_on_oom(self, fn: Callable[[int], Any], size: int, state: dict) -> Any:
        """``fn(k)`` with ``k = min(size, state['cap'])``, halving ``state['cap']`` on OOM down to 1."""
        while True:
            k = max(1, min(size, state["cap"]))
            try:
                return fn(k), k
            except Exception as err:  # re-raised unless it is an OOM
                if not _is_oom(err) or k <= 1:
                    raise
                state["cap"] = max(1, k // 2)
                _free_memory(self.device)

    # ------------------------------------------------------------------ sampling
    def sample(self, prompts: Sequence[str], *, n: int, temperature: float = 1.0, top_p: float = 1.0,
               max_new_tokens: int, seed: int, prompt_ids: Sequence[int] | None = None,
               batch_size: int | None = None, progress: bool = False, backend: str = "auto") -> Samples:
        """Draw ``n`` responses per prompt; score each by a teacher-forced fp32 pass at temperature 1.

        Each prompt is encoded once and its draws come from ``generate(num_return_sequences=k)``
        calls over that one prompt (no padding), ``k = min(n, batch_size)`` sequences per call.

        Args:
            prompts: ``P`` prompt strings.
            n: draws per prompt (>= 1).
            temperature: sampling temperature (> 0; for temperature 0 use :meth:`greedy`).
            top_p: nucleus mass in (0, 1]; 1 samples from the full distribution (top-k is off).
            max_new_tokens: cap on response length (>= 1); a response stops earlier at EOS.
            seed: the run's seed; prompt ``i``'s draws depend only on ``(seed, prompt_ids[i])``
                and the sequences per call.
            prompt_ids: ``P`` distinct non-negative ints, each prompt's identity for seeding
                (default ``0..P-1``); pass the original ones when resuming a subset.
            batch_size: most sequences per ``generate`` call (default ``n``); halved on OOM.
            progress: show a tqdm bar over prompts.
            backend: ``"hf"`` (``model.generate``), ``"vllm"`` (vLLM's engine on the same local
                checkpoint; see :meth:`_sample_vllm`) or ``"auto"``: vLLM when it is importable, the
                model is on a CUDA device and was loaded from a directory without a peft adapter,
                else ``"hf"``. The backend is recorded in ``settings["backend"]``. Scores always come
                from this object's own teacher-forced pass, whichever backend drew the responses.

        Returns:
            :class:`Samples` with ``P * n`` rows, prompt-major.
        """
        if backend not in ("auto", "hf", "vllm"):
            raise ValueError(f"backend must be 'auto', 'hf' or 'vllm', got {backend!r}")
        prompts = _check_texts("prompts", prompts)
        n = _check_int("n", n, 1)
        max_new_tokens = _check_int("max_new_tokens", max_new_tokens, 1)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
                or not math.isfinite(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a finite number > 0 (for temperature 0 use greedy), "
                             f"got {temperature!r}")
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        seed = _check_int("seed", seed, 0)
        if prompt_ids is None:
            ids_for_seed = list(range(len(prompts)))
        else:
            if isinstance(prompt_ids, (str, bytes)) or len(prompt_ids) != len(prompts):
                raise ValueError(f"prompt_ids must give one int per prompt ({len(prompts)}), "
                                 f"got {prompt_ids!r}")
            ids_for_seed = [_check_int(f"prompt_ids[{k}]", v, 0) for k, v in enumerate(prompt_ids)]
            if len(set(ids_for_seed)) != len(ids_for_seed):
                raise ValueError("prompt_ids must be distinct (each prompt's identity for seeding)")
        cap = n if batch_size is None else _check_int("batch_size", batch_size, 1)
        use_vllm = backend == "vllm" or (backend == "auto" and self._vllm_usable())
        settings = dict(n=n, temperature=float(temperature), top_p=float(top_p), max_new_tokens=max_new_tokens,
                        seed=seed, greedy=False, prompt_ids=ids_for_seed, sequences_per_call=min(cap, n),
                        backend="vllm" if use_vllm else "hf")
        if not prompts:
            return self._empty(settings)
        encoded = self.encode_prompts(prompts)
        self._check_length(encoded, max_new_tokens)
        if use_vllm:
            return self._sample_vllm(encoded, n=n, temperature=temperature, top_p=top_p,
                                     max_new_tokens=max_new_tokens, seed=seed, ids_for_seed=ids_for_seed,
                                     settings=settings, progress=progress)
        gen_kwargs = self._generation_kwargs(do_sample=True, temperature=temperature, top_p=top_p,
                                             max_new_tokens=max_new_tokens)
        state = {"cap": cap}
        rows_prompt, rows_draw, rows_tokens = [], [], []
        fork_devices = [self.device] if self.device.type == "cuda" else []
        iterator = range(len(prompts))
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc="sampling", unit="prompt")
        with self._eval_mode():
            for i in iterator:
                ids = torch.tensor([encoded[i]], dtype=torch.long, device=self.device)
                mask = torch.ones_like(ids)
                j0 = 0
                while j0 < n:
                    def call(k, j0=j0, ids=ids, mask=mask, i=i):
                        with torch.random.fork_rng(devices=fork_devices):
                            torch.manual_seed(_draw_seed(seed, ids_for_seed[i], j0))
                            return self._generate(ids, mask, num_return_sequences=k, **gen_kwargs)

                    out, k = self._retry_on_oom(call, n - j0, state)
                    for j, row in enumerate(out[:, ids.shape[1]:].tolist()):
                        rows_prompt.append(i)
                        rows_draw.append(j0 + j)
                        rows_tokens.append(row)
                    j0 += k
        settings["sequences_per_call"] = min(state["cap"], n)
        return self._finish(encoded, rows_prompt, rows_draw, rows_tokens, settings)

    def greedy(self, prompts: Sequence[str], *, max_new_tokens: int, batch_size: int = GREEDY_BATCH,
               progress: bool = False) -> Samples:
        """Argmax decoding (``do_sample=False``), one response per prompt.

        Prompts are batched ``batch_size`` at a time with left padding (halved on OOM).
        Returns :class:`Samples` with ``P`` rows; ``settings['greedy']`` is True.
        """
        prompts = _check_texts("prompts", prompts)
        max_new_tokens = _check_int("max_new_tokens", max_new_tokens, 1)
        cap = _check_int("batch_size", batch_size, 1)
        settings = dict(n=1, temperature=0.0, top_p=1.0, max_new_tokens=max_new_tokens, seed=None,
                        greedy=True, prompt_ids=list(range(len(prompts))), sequences_per_call=cap)
        if not prompts:
            return self._empty(settings)
        encoded = self.encode_prompts(prompts)
        self._check_length(encoded, max_new_tokens)
        gen_kwargs = self._generation_kwargs(do_sample=False, temperature=1.0, top_p=1.0,
                                             max_new_tokens=max_new_tokens)
        state = {"cap": cap}
        rows_tokens: list[list[int]] = []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(prompts), desc="greedy", unit="prompt")
        with self._eval_mode():
            start = 0
            while start < len(prompts):
                def call(k, start=start):
                    chunk = encoded[start: start + k]
                    width = max(len(c) for c in chunk)
                    ids = torch.full((len(chunk), width), self.pad_token_id, dtype=torch.long)
                    mask = torch.zeros((len(chunk), width), dtype=torch.long)
                    for r, c in enumerate(chunk):
                        ids[r, width - len(c):] = torch.tensor(c, dtype=torch.long)
                        mask[r, width - len(c):] = 1
                    out = self._generate(ids.to(self.device), mask.to(self.device), num_return_sequences=1,
                                         **gen_kwargs)
                    return out[:, width:].tolist()

                rows, k = self._retry_on_oom(call, len(prompts) - start, state)
                rows_tokens.extend(rows)
                start += k
                if bar is not None:
                    bar.update(k)
        if bar is not None:
            bar.close()
        p = len(prompts)
        settings["sequences_per_call"] = state["cap"]
        return self._finish(encoded, list(range(p)), [0] * p, rows_tokens, settings)

    # ------------------------------------------------------------------ vLLM
    def _vllm_usable(self) -> bool:
        import importlib.util

        dist = torch.distributed
        in_job = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        return (self.device.type == "cuda" and self.path is not None and not in_job
                and not hasattr(self.model, "peft_config") and importlib.util.find_spec("vllm") is not None)

    def _vllm_engine(self):
        """The vLLM engine on this policy's checkpoint, built once (a second copy of the weights:
        its share of GPU memory is ``SHARPSIM_VLLM_GPU_MEMORY``, default 0.4), sharded over
        ``self.tensor_parallel`` GPUs (``tensor_parallel_size``)."""
        if getattr(self, "_vllm", None) is None:
            try:
                import vllm
            except ImportError as err:
                raise ImportError("backend='vllm' needs vLLM installed (pip install vllm); "
                                  "backend='hf' works without it") from err
            if self.path is None:
                raise ValueError("backend='vllm' needs a policy loaded from a directory (from_pretrained), "
                                 "not an in-memory model")
            share = float(os.environ.get("SHARPSIM_VLLM_GPU_MEMORY", "0.4"))
            dtype = str(next(self.model.parameters()).dtype).replace("torch.", "")
            self._vllm = vllm.LLM(model=str(self.path), tokenizer=str(self.path), trust_remote_code=False,
                                  dtype=dtype, gpu_memory_utilization=share,
                                  tensor_parallel_size=self.tensor_parallel)
        return self._vllm

    def _sample_vllm(self, encoded, *, n, temperature, top_p, max_new_tokens, seed, ids_for_seed, settings,
                     progress) -> Samples:
        """Draws through vLLM: one request per prompt (its token ids, so the prompt is exactly the one
        scored), ``n`` sequences per request, seeded per prompt from ``(seed, prompt id)``, top-k off,
        stopping at this tokenizer's EOS (or never, without one). An EOS vLLM stopped on but left out
        of ``token_ids`` is put back, so that responses end as the ``hf`` backend's do. The draws
        differ from the ``hf`` backend's (another sampler), with the same law."""
        engine = self._vllm_engine()  # raises a clear ImportError without vLLM
        import vllm

        params = []
        for pid in ids_for_seed:
            kw = dict(n=n, temperature=float(temperature), top_p=float(top_p), top_k=-1, max_tokens=max_new_tokens,
                      seed=_draw_seed(seed, pid, 0))
            if self.eos_token_id is None:
                kw["ignore_eos"] = True
            else:
                kw["stop_token_ids"] = [self.eos_token_id]
            params.append(vllm.SamplingParams(**kw))
        requests = [{"prompt_token_ids": list(ids)} for ids in encoded]
        outputs = engine.generate(requests, params, use_tqdm=progress)
        rows_prompt, rows_draw, rows_tokens = [], [], []
        for i, out in enumerate(outputs):
            for j, comp in enumerate(out.outputs):
                toks = [int(t) for t in comp.token_ids]
                stopped_on_eos = getattr(comp, "finish_reason", None) == "stop" and self.eos_token_id is not None \
                    and getattr(comp, "stop_reason", None) in (None, self.eos_token_id)
                if stopped_on_eos and (not toks or toks[-1] != self.eos_token_id):
                    toks.append(self.eos_token_id)
                rows_prompt.append(i)
                rows_draw.append(j)
                rows_tokens.append(toks)
        settings["sequences_per_call"] = n
        return self._finish(encoded, rows_prompt, rows_draw, rows_tokens, settings)

    def _empty(self, settings: dict) -> Samples:
        return Samples(np.zeros(0, int), np.zeros(0, int), [], [], np.zeros(0, np.float64), np.zeros(0, int),
                       np.zeros(0, bool), settings)

    def _finish(self, encoded, rows_prompt, rows_draw, rows_tokens, settings) -> Samples:
        tokens, hit = [], []
        for row in rows_tokens:
            cut, found = scoring.truncate_at_eos(row, self.eos_token_id)
            tokens.append(cut)
            hit.append(found)
        logp = self._score([encoded[i] for i in rows_prompt], tokens)
        return Samples(
            prompt_index=np.asarray(rows_prompt, dtype=int), sample_index=np.asarray(rows_draw, dtype=int),
            tokens=tokens, text=[self._decode(t) for t in tokens], log_prob=logp,
            length=np.asarray([len(t) for t in tokens], dtype=int), hit_eos=np.asarray(hit, dtype=bool),
            settings=settings)

    # ------------------------------------------------------------------ scoring
    def _score(self, prompt_ids, response_ids) -> np.ndarray:
        """``[len]`` float64 of fp32 teacher-forced sums, ``SCORE_BATCH`` rows per pass (halved on OOM)."""
        state = {"cap": SCORE_BATCH}
        out = np.zeros(len(prompt_ids), dtype=np.float64)
        with self._eval_mode():
            start = 0
            while start < len(prompt_ids):
                def call(k, start=start):
                    batch = scoring.pack(prompt_ids[start: start + k], response_ids[start: start + k],
                                         pad_token_id=self.pad_token_id, device=self.device)
                    return scoring.response_log_probs(self.model, batch).cpu().numpy()

                vals, k = self._retry_on_oom(call, len(prompt_ids) - start, state)
                out[start: start + k] = vals.astype(np.float64)
                start += k
        return out

    def log_prob(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """``[len(prompts)]`` fp32 ``log π(response | prompt)`` (as float64), responses as text, EOS appended.

        Teacher-forced at temperature 1 with padding masked (:mod:`sharpsim.bridge.scoring`).
        """
        prompts = _check_texts("prompts", prompts)
        responses = _check_texts("responses", responses)
        if len(prompts) != len(responses):
            raise ValueError(f"prompts and responses must have the same length, got {len(prompts)} and "
                             f"{len(responses)}")
        return self.log_prob_ids(self.encode_prompts(prompts), self.encode_responses(responses))

    def log_prob_ids(self, prompt_ids: Sequence[Sequence[int]], response_ids: Sequence[Sequence[int]]) -> np.ndarray:
        """As :meth:`log_prob` on token ids (nothing appended; tokens after the first EOS are dropped)."""
        if len(prompt_ids) != len(response_ids):
            raise ValueError(f"prompt_ids and response_ids must have the same length, got {len(prompt_ids)} "
                             f"and {len(response_ids)}")
        prompts = [[int(t) for t in p] for p in prompt_ids]
        for k, p in enumerate(prompts):
            if not p:
                raise ValueError(f"prompt_ids[{k}] is empty; a response needs at least one prompt token "
                                 "(prepend BOS, as encode_prompts does)")
        responses = [scoring.truncate_at_eos(r, self.eos_token_id)[0] for r in response_ids]
        if not prompts:
            return np.zeros(0, dtype=np.float64)
        return self._score(prompts, responses)
