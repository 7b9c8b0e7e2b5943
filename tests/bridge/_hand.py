"""Hand computations shared by the bridge tests (independent of ``sharpsim.bridge.scoring``)."""

from __future__ import annotations


def log_prob_by_hand(model, prompt, response) -> float:
    """Sum of fp64 log p(token | all tokens before it), one unpadded forward pass per response token."""
    import torch

    total = 0.0
    ctx = list(prompt)
    for tok in response:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ctx])).logits[0, -1].double()
        total += float(torch.log_softmax(logits, -1)[tok])
        ctx.append(tok)
    return total
