"""Swap quality you can measure: identity, pose, expression, sharpness, stability and blend.

A consumer of finished videos (or frames) and face sets; the pipeline stages it judges
never import it. Merge calls it once, through ``faceswap.score.run``.
"""
