"""One training step of a segmentation net, as a module the shared training loop calls."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SegmentStep(nn.Module):
    """forward(batch) -> named loss terms: per-pixel BCE plus a soft Dice term, which keeps thin
    occluders (strands, frames) from being drowned by the large easy background.
    ``occluder_weight`` adds weight on the face region's pixels the truth says are covered
    (prior minus truth): missed occluders were the generic model's largest error."""

    def __init__(self, net: nn.Module, dice_weight: float = 0.5, occluder_weight: float = 0.0) -> None:
        super().__init__()
        self.net = net
        self.dice_weight = dice_weight
        self.occluder_weight = occluder_weight

    def forward(self, batch: dict[str, dict[str, torch.Tensor]], step: int) -> dict[str, torch.Tensor]:
        data = batch["faces"]
        logits = self.net(data["input"])
        target = data["target"]
        # the face is where the mask's decisions are: weigh its pixels (the prior channel) 4x the background's
        weight = None
        if data["input"].shape[1] == 4:
            prior = data["input"][:, 3:4]
            weight = 1 + 3 * prior + self.occluder_weight * (prior - target).clamp(min=0)
        terms = {"mask_bce": F.binary_cross_entropy_with_logits(logits, target, weight=weight)}
        if self.dice_weight:
            probs = torch.sigmoid(logits)
            overlap = (probs * target).sum((1, 2, 3))
            dice = 1 - (2 * overlap + 1) / (probs.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
            terms["mask_dice"] = dice.mean() * self.dice_weight
        return terms
