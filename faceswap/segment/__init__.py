"""Occlusion-aware face masks: the segmentation net, its synthetic training data, user labels,
training on the shared loop of faceswap/train/, and applying a masker to existing face sets."""
