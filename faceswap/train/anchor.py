"""Fine-tuning that remembers where it started: every step pulls each weight back toward its
value at the start of training (L2-SP, Li et al. 2018, "Explicit inductive bias for transfer
learning"), decoupled from the gradient as AdamW's weight decay is (which pulls toward zero).

Why: a model started from a face prior has seen many people turn their heads; fine-tuned on
one source clip, its weights drift far from the prior (a relative change of 0.3-0.6 in 30
CPU-minutes, most of it the random walk of noisy steps), and the source's decoder forgets the
turns that clip lacks. The pull removes drift the gradient does not keep asking for: a weight
the loss pushes steadily settles about 1/strength from its start, noise about lr * sqrt(1 /
(lr * strength)).

The starting weights live in the optimiser's state ("anchor" beside its moments), so they are
saved and verified with every checkpoint and a resume is bit-exact. A model that turns the pull
on later is anchored at its weights when it does.
"""
from __future__ import annotations

import torch

ANCHOR_KEY = "anchor"


class AnchorPull:
    """Around ``optimizer.step()``: after the step, move every weight a share ``lr * strength`` of
    the way back to its anchor (the weights before the first step that had the pull on)."""

    def __init__(self, optimizer: torch.optim.Optimizer, strength: float) -> None:
        self.optimizer = optimizer
        self.strength = strength
        self._new: list[tuple[torch.Tensor, torch.Tensor]] = []

    def __enter__(self) -> AnchorPull:
        if self.strength > 0:
            self._new = [(param, param.detach().clone()) for param in self._params()
                         if ANCHOR_KEY not in self.optimizer.state.get(param, {})]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.strength <= 0 or exc[0] is not None:
            return
        for param, start in self._new:     # the optimiser made its state on this step: the anchor joins it
            state = self.optimizer.state.get(param)
            if state:                      # (a weight the step skipped gets its anchor at its first step)
                state[ANCHOR_KEY] = start
        self._new = []
        with torch.no_grad():
            for group in self.optimizer.param_groups:
                share = min(1.0, group["lr"] * self.strength)
                for param in group["params"]:
                    anchor = self.optimizer.state.get(param, {}).get(ANCHOR_KEY)
                    if anchor is not None:
                        param.lerp_(anchor, share)

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.optimizer.param_groups for p in group["params"] if p.requires_grad]

