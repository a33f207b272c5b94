"""The optimisers training offers, and DeepFaceLab's learning-rate dropout.

AdaBelief (Zhuang et al., 2020) scales steps by the variance of the gradient around its own
running mean ("belief") instead of by its raw second moment: steps are larger where the
gradient is consistent, which is what DeepFaceLab's SAEHD trains with. Learning-rate dropout
keeps each parameter's update with probability 1 - p (the moments still see every gradient).
"""
from __future__ import annotations

from collections.abc import Iterable

import torch

OPTIMIZERS = ("adabelief", "adamw")
DEFAULT_OPTIMIZER = "adamw"


class AdaBelief(torch.optim.Optimizer):
    """AdaBelief without weight decay (bias-corrected, eps inside and outside the root)."""

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-16) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):  # noqa: ANN001 - torch's signature
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = torch.zeros(())
                    state["mean"] = torch.zeros_like(param)
                    state["belief"] = torch.zeros_like(param)
                state["step"] += 1
                step = float(state["step"])
                grad, mean, belief = param.grad, state["mean"], state["belief"]
                mean.mul_(beta1).add_(grad, alpha=1 - beta1)
                surprise = grad - mean
                belief.mul_(beta2).addcmul_(surprise, surprise, value=1 - beta2).add_(group["eps"])
                denom = (belief / (1 - beta2 ** step)).sqrt_().add_(group["eps"])
                param.addcdiv_(mean, denom, value=-group["lr"] / (1 - beta1 ** step))
        return None


def default_learning_rate(resolution: int, decaying: bool = False) -> float:
    """The learning rate when none is given: 5e-4 for small models (CPU presets: measured 10x faster
    to follow the destination than 5e-5, benchmarks/train_knobs.py and quality.py), 1e-3 where the
    run decays it (a cosine over a time budget: better than 5e-4 decayed, while 1e-3 held constant
    is worse; quality.py, README), DeepFaceLab's 5e-5 above 128 px (large GPU models)."""
    if resolution > 128:
        return 5e-5
    return 1e-3 if decaying else 5e-4


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if name == "adabelief":
        return AdaBelief(params, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr)
    raise ValueError(f"unknown optimizer '{name}'")


class UpdateDropout:
    """Around ``optimizer.step()``: keep each element's update with probability ``1 - rate``."""

    def __init__(self, params: Iterable[torch.nn.Parameter], rate: float, seed: int) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.rate = rate
        self.seed = seed                   # masks depend on (run seed, iteration) only, so resuming is exact
        self._before: list[torch.Tensor] = []

    def __enter__(self) -> UpdateDropout:
        if self.rate > 0:
            self._before = [p.detach().clone() for p in self.params]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.rate <= 0 or exc[0] is not None:
            return
        generators: dict[torch.device, torch.Generator] = {}
        with torch.no_grad():
            for param, before in zip(self.params, self._before):
                if param.device not in generators:
                    generators[param.device] = torch.Generator(param.device).manual_seed(self.seed)
                keep = torch.rand(param.shape, device=param.device, generator=generators[param.device]) >= self.rate
                param.copy_(torch.where(keep, param, before))
        self._before = []
