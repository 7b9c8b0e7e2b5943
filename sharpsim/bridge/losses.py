"""Pure losses of the LM bridge: SFT's NLL, the Eq 8 square loss, XPO's objective, KL estimators.

Each is a function of ``[B]`` tensors of sequence log-probabilities (or ``[B, L]`` per-token ones for
the KL estimators) and nothing else, so that they can be checked against the JAX core on the same
numbers (the parity test). Sequence log-probabilities are sums over the response tokens, taken by
:func:`sharpsim.bridge.scoring.response_log_probs`; the self-reward is ``r(y|x) = log π_base(y|x)``
(Huang et al., ICLR 2025, Sec 2)::

    sft_loss  = − mean_i log π(y_i^BoN | x_i)                                   (SFT-Sharpening, Sec 2.1)
    eq8_loss  = mean_i ( β(log π(y_i|x_i) − log π_ref(y_i|x_i)) − β(log π(y'_i|x_i) − log π_ref(y'_i|x_i))
                         − (r(y_i|x_i) − r(y'_i|x_i)) )²                          (RLHF-Sharpening, Eq 8)
    xpo_loss  = mean_i [ α log π(y'_i|x_i) + (the Eq 8 residual)² ]               (XPO, Alg 1)

``reduction="sum"`` gives the core's normalisation exactly (the core minimises sums over the data:
``classes.FiniteClass.log_likelihoods``, ``.regression_losses`` and XPO's ``α Σ_D log π(y'|x) + Σ_D (...)²``);
``"mean"`` (the default, used for training) divides both terms by the number of triples, which
leaves the minimiser and the α : square-loss ratio unchanged. Optional ``weights`` give weighted sums
or means (e.g. population losses over an enumerated response set, as in the parity test).

KL on on-policy samples (:func:`kl_estimates`): for ``y ~ π`` and per-token ratios
``ρ_t = π_ref(y_t|x, y_<t) / π(y_t|x, y_<t)``, ``k1 = Σ_t −log ρ_t = log π(y|x) − log π_ref(y|x)`` and
``k3 = Σ_t (ρ_t − 1) − log ρ_t``, summed over response tokens only (padding and post-EOS tokens
masked). Both are unbiased for ``KL(π‖π_ref)`` of the sequence law; every ``k3`` term is ``>= 0``.
"""

from __future__ import annotations

from sharpsim import _validation as v
from sharpsim.bridge._deps import require

torch = require("torch")

__all__ = ["REDUCTIONS", "eq8_loss", "eq8_residual", "kl_estimates", "sft_loss", "xpo_loss"]

#: the accepted ``reduction`` arguments
REDUCTIONS = ("mean", "sum")


def _reduce(per: torch.Tensor, weights, reduction: str) -> torch.Tensor:
    if reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be 'mean' or 'sum'; got {reduction!r}")
    if per.ndim != 1:
        raise ValueError(f"sequence log-probabilities must be 1-D [B] tensors; got shape {tuple(per.shape)}")
    if weights is None:
        return per.sum() if reduction == "sum" else per.mean()
    w = torch.as_tensor(weights, dtype=per.dtype, device=per.device)
    if w.shape != per.shape:
        raise ValueError(f"`weights` must have shape {tuple(per.shape)}; got {tuple(w.shape)}")
    total = (w * per).sum()
    return total if reduction == "sum" else total / w.sum()


def sft_loss(logp: torch.Tensor, *, weights=None, reduction: str = "mean") -> torch.Tensor:
    """Completion-only negative log-likelihood of the BoN picks (SFT-Sharpening, Sec 2.1).

    Args:
      logp: ``[B]`` ``log π(y_i|x_i)`` of the picks, each the *sum* over its response tokens
        (:func:`scoring.response_log_probs`; prompt tokens never enter the loss).
      weights: optional ``[B]`` non-negative weights.
      reduction: ``"mean"`` (default) averages the per-sequence NLL over sequences; ``"sum"`` is
        ``−Σ_i log π(y_i|x_i)``, the negative of what the core's MLE maximises
        (``classes.FiniteClass.log_likelihoods``).

    Returns a scalar tensor (nats per sequence with ``"mean"``).
    """
    return _reduce(-logp, weights, reduction)


def eq8_residual(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta) -> torch.Tensor:
    """``[B]`` the Eq 8 residual ``β(log π(y|x) − log π_ref(y|x)) − β(log π(y'|x) − log π_ref(y'|x)) − (r(y|x) − r(y'|x))``.

    Args:
      logp_y, logp_yp: ``[B]`` ``log π(y|x)`` and ``log π(y'|x)`` under the trained policy (nats).
      ref_y, ref_yp: ``[B]`` the same under the reference ``π_ref``.
      r_y, r_yp: ``[B]`` the rewards of ``y`` and ``y'``.
      beta: the KL weight ``β > 0``.

    Returns:
      A ``[B]`` tensor.

    Raises:
      ValueError: ``beta <= 0``.
    """
    beta = v.check_positive("beta", float(beta))
    return beta * (logp_y - ref_y) - beta * (logp_yp - ref_yp) - (r_y - r_yp)


def eq8_loss(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta, *, weights=None,
             reduction: str = "mean") -> torch.Tensor:
    """The Eq 8 (reward-regression DPO) square loss: mean (or sum) over triples of
    :func:`eq8_residual` squared. With ``reduction="sum"`` it equals the core's
    ``classes.FiniteClass.regression_losses`` on the same triples; with ``weights`` =
    ``μ(x) π_base(y|x) π_base(y'|x)`` over all pairs it is the population loss
    ``objectives.regression_loss``.

    Args:
      logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta: as in :func:`eq8_residual`.
      weights: optional ``[B]`` non-negative weights of the triples.
      reduction: ``"mean"`` (default) or ``"sum"`` over the triples.

    Returns:
      A scalar tensor.

    Raises:
      ValueError: ``beta <= 0``, or a bad ``reduction`` / ``weights`` shape.
    """
    resid = eq8_residual(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta)
    return _reduce(resid**2, weights, reduction)


def xpo_loss(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta, alpha, *, weights=None,
             reduction: str = "mean") -> torch.Tensor:
    """XPO's objective (Huang et al., ICLR 2025, Alg 1; note the ``+``): over the triples ``(x, y, y')``,

        α log π(y'|x) + (β log(π(y|x)/π_ref(y|x)) − β log(π(y'|x)/π_ref(y'|x)) − (r(y|x) − r(y'|x)))²

    summed (``reduction="sum"``, the core's normalisation) or averaged over triples (``"mean"``,
    the same minimiser). ``y'`` is the base sample; the α-term lowers its likelihood (optimism).

    Args:
      logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta: as in :func:`eq8_residual`.
      alpha: the optimism weight ``α >= 0``.
      weights: optional ``[B]`` non-negative weights of the triples.
      reduction: ``"mean"`` (default) or ``"sum"`` over the triples.

    Returns:
      A scalar tensor.

    Raises:
      ValueError: ``beta <= 0`` or ``alpha < 0`` (naming the argument).
    """
    alpha = v.check_at_least("alpha", float(alpha), 0.0)
    resid = eq8_residual(logp_y, logp_yp, ref_y, ref_yp, r_y, r_yp, beta)
    return _reduce(alpha * logp_yp + resid**2, weights, reduction)


def kl_estimates(logp_tokens: torch.Tensor, ref_tokens: torch.Tensor, mask: torch.Tensor):
    """Per-sequence k1 and k3 estimates of ``KL(π ‖ π_ref)`` from on-policy samples ``y ~ π``.

    Args:
      logp_tokens, ref_tokens: ``[B, L]`` per-token ``log π`` and ``log π_ref`` of the sampled
        tokens (:func:`scoring.token_log_probs`).
      mask: ``[B, L]`` bool, True on response tokens (``PackedBatch.response_mask``).

    Returns:
      ``(k1, k3)``, each ``[B]`` fp32: ``k1 = Σ_t (log π − log π_ref)`` and
      ``k3 = Σ_t (ρ_t − 1) − log ρ_t`` with ``ρ_t = π_ref/π`` (``expm1(d) − d``, ``d = log ρ_t``), summed
      over the masked tokens. Each k3 term is ``>= 0``; both have expectation ``KL(π‖π_ref)``.
    """
    d = (ref_tokens.float() - logp_tokens.float()).masked_fill(~mask, 0.0)
    k1 = (-d).sum(-1)
    k3 = (torch.expm1(d) - d).masked_fill(~mask, 0.0).sum(-1)
    return k1, k3
