"""The training losses of :mod:`sharpsim.bridge.losses` (SFT, Eq 8, XPO) and the KL estimators k1/k3,
on hand values. Expected values are computed in the test by hand, never read from the code under test."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from sharpsim.bridge import losses  # noqa: E402


def test_losses_on_hand_values():
    lp = torch.tensor([-1.0, -3.0])
    assert float(losses.sft_loss(lp)) == pytest.approx(2.0)
    assert float(losses.sft_loss(lp, reduction="sum")) == pytest.approx(4.0)
    assert float(losses.sft_loss(lp, weights=[3.0, 1.0])) == pytest.approx((3 + 3) / 4)
    # one triple: beta=0.5, log-ratios 0.2 and -0.4, rewards -1 and -2 -> 0.5*0.2 + 0.5*0.4 - 1 = -0.7
    args = [torch.tensor([x]) for x in (-0.8, -1.4, -1.0, -1.0, -1.0, -2.0)]
    assert float(losses.eq8_loss(*args, 0.5)) == pytest.approx(0.49)
    # alpha * log pi(y'|x) + resid^2 = 2 * (-1.4) + 0.49
    assert float(losses.xpo_loss(*args, 0.5, 2.0)) == pytest.approx(-2.8 + 0.49)


def test_kl_estimators_by_hand_and_masked():
    lp = torch.tensor([[0.0, -0.5, -1.0, 9.0]])
    ref = torch.tensor([[0.0, -1.0, -0.2, -7.0]])
    mask = torch.tensor([[False, True, True, False]])  # the prompt and a pad position are masked
    k1, k3 = losses.kl_estimates(lp, ref, mask)
    d = np.array([-0.5, 0.8])  # log rho = ref - lp on the two response tokens
    assert float(k1[0]) == pytest.approx(-d.sum(), abs=1e-6)
    assert float(k3[0]) == pytest.approx(float(np.sum(np.exp(d) - 1 - d)), abs=1e-6)
    assert float(k3[0]) >= 0


@pytest.mark.parametrize("fn, kwargs, match", [
    (losses.eq8_loss, {"beta": 0.0}, "`beta` must be > 0"),
    (losses.xpo_loss, {"beta": 1.0, "alpha": -1.0}, "`alpha` must be >= 0"),
    (losses.xpo_loss, {"beta": -2.0, "alpha": 1.0}, "`beta` must be > 0"),
])
def test_bad_loss_arguments(fn, kwargs, match):
    x = [torch.zeros(2)] * 6
    with pytest.raises(ValueError, match=match):
        fn(*x, **kwargs)
