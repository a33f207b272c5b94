"""SAE: DeepFaceLab's SAEHD autoencoder, a shared encoder with one decoder per person.

Everything a model author changes is here (options, presets, how the parts connect); the
parts are in blocks.py and layers.py. Architecture options, as in DeepFaceLab's
models/Model_SAEHD/Model.py and core/leras/archis/DeepFakeArchi.py:

``archi=df``: shared encoder + inter block, one decoder (face + mask) per person.
``archi=liae``: shared encoder, inter_ab and inter_b, one shared decoder. The source is
drawn from [inter_ab, inter_ab], the destination from [inter_b, inter_ab], so decoding a
destination face as the source (the swap) uses its inter_ab code only; both go through
``decode(code, decoder)`` like df, so train, merge, export and latent need no special case.
``pixel_norm`` (DFL's ``-u``): the encoder's flattened output is scaled to unit RMS.
``double_res`` (DFL's ``-d``): the bottleneck and decoder work at half ``resolution`` and the
last layer makes 2x2 pixels per position. ``half_input`` (ours): the encoder sees the faces
at half ``resolution``; with double_res a 128 px model costs about what a 64 px one does, and
starts from the 64 px prior (``--init auto``), drawing its faces upscaled (growth.py).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from faceswap.errors import OptionError
from faceswap.model_api import Encoded, FaceModel, ModelOptions, PresetTraining
from faceswap.plugin_api import API_VERSION, option
from faceswap.weights import WeightFile
from faceswap_plugins.model.sae.blocks import Decoder, Encoder, Inter
from faceswap_plugins.model.sae.growth import grown_weights, grows_into
from faceswap_plugins.model.sae.layers import initialise, pixel_norm

__all__ = ["Decoder", "Encoder", "Inter", "SaeModel"]

# DeepFaceLab SAEHD's defaults (models/Model_SAEHD/Model.py, on_initialize_options and
# on_initialize): resolution 128, archi 'liae-ud', ae_dims 256, e_dims 64, d_dims 64,
# d_mask_dims d_dims // 3 rounded up to even = 22; AdaBelief at lr 5e-5; masked training with
# the mask blurred by resolution // 32 px (then clipped to 0.5 and doubled: feathered outward);
# loss 10 DSSIM + 10 MSE + 10 mask MSE; eyes_mouth_prio off; random_src_flip off, random_dst_flip on
# (models/ModelBase.py).
SAEHD_LIAE_UD = {"resolution": 128, "archi": "liae", "pixel_norm": True, "double_res": True,
                 "ae_dims": 256, "e_dims": 64, "d_dims": 64, "d_mask_dims": 22}
SAEHD_TRAINING = PresetTraining(
    lr=5e-5, optimizer="adabelief",
    loss={"pixel": "mse", "pixel_weight": 10.0, "dssim_weight": 10.0, "mask_weight": 10.0, "priority_weight": 0.0,
          "mask_margin": 1 / 32, "mask_blur": 1 / 32,
          # the design's pixel + perceptual loss, on the GPU preset (SAEHD itself has none)
          "lpips_weight": 0.5, "lpips_net": "vgg"},
    sample={"src_flip": False},
)


class SaeModel(FaceModel):
    name = "sae"
    version = "1.1"     # 1.1: liae inter blocks are 2 ae_dims wide, as SAEHD's; pixel_norm, double_res, half_input
    api_version = API_VERSION

    decoder_count = 2   # 0 = source (the face to put in), 1 = destination (the face to replace)

    @dataclass(frozen=True)
    class Options(ModelOptions):
        resolution: int = option(64, "side of the faces the model sees and makes (multiple of 16; of 32 with "
                                     "double_res or half_input)", min=64, max=512, locked=True, multiple_of=16)
        archi: str = option("df", "df: shared encoder, one decoder per identity (keeps the source's identity "
                                  "best); liae: shared encoder and decoder with per-identity inter blocks (copes "
                                  "with very different face shapes), as DeepFaceLab's", choices=("df", "liae"),
                            locked=True)
        ae_dims: int = option(128, "size of the bottleneck code", min=16, max=1024, locked=True)
        e_dims: int = option(32, "encoder width (channels of the first layer)", min=8, max=256, locked=True)
        d_dims: int = option(16, "decoder width", min=4, max=256, locked=True)
        d_mask_dims: int = option(8, "mask decoder width", min=4, max=256, locked=True)
        pixel_norm: bool = option(False, "scale the encoder's output to unit RMS before the bottleneck "
                                         "(DeepFaceLab's -u, 'increased likeness')", locked=True)
        double_res: bool = option(False, "bottleneck and decoder work at half the resolution and the last layer "
                                         "makes 2x2 pixels each (DeepFaceLab's -d): faces at 'resolution' for "
                                         "about the decoder cost of half of it", locked=True)
        half_input: bool = option(False, "the encoder sees the faces at half the resolution (2x2 average); with "
                                         "double_res, e.g. resolution=128 makes 128 px faces at the cost of a "
                                         "64 px model", locked=True)
        init: str = option("xavier", "weights of a new model not started from a prior: xavier (Xavier-uniform, "
                                     "zero biases, ICNR before pixel shuffles) or torch (PyTorch's defaults)",
                           choices=("xavier", "torch"))

        def __post_init__(self) -> None:
            if (self.double_res or self.half_input) and self.resolution % 32:
                raise OptionError(f"model 'sae' option 'resolution': {self.resolution} is not a multiple of 32, "
                                  f"which double_res and half_input need (their layers work at half of it)")

    PRESETS: ClassVar[dict[str, dict[str, object]]] = {
        # measured on 2 CPU cores: ~25 samples/s (d_dims 32 would cost 3x for the same resolution)
        "quick": {"resolution": 64, "ae_dims": 128, "e_dims": 32, "d_dims": 16, "d_mask_dims": 8},
        # quick's networks making 128 px faces (0.78x its samples/s); 30 minutes side by side with quick on the same
        # 2 cores, AOC -> Katie Hill, from its own prior: identity 0.79 vs 0.76, sharpness 0.26 vs 0.22, pose error
        # 3.5 vs 4.5 deg (benchmarks/quality.py; README "The quality benchmark")
        "quick128": {"resolution": 128, "ae_dims": 128, "e_dims": 32, "d_dims": 16, "d_mask_dims": 8,
                     "double_res": True, "half_input": True},
        "full": SAEHD_LIAE_UD,
    }
    # what a new model without --preset gets: quick128 beat quick at equal wall-clock in both side-by-side runs
    # (identity, sharpness and pose together; README "The quality benchmark"), for 0.83x quick's swap speed
    DEFAULT_PRESET: ClassVar[str] = "quick128"
    # quick128 mirrors only the destination's faces (DeepFaceLab's default; pose error 2.97 degrees over five
    # 30-minute seeds against 3.24 with both sides mirrored) and turns training faces by up to 6 degrees of pitch
    # (pose 2.75 over four seeds against 3.00 over seven without; identity and sharpness the same). README, "The
    # quality benchmark"
    PRESET_TRAINING: ClassVar[dict[str, PresetTraining]] = {
        "full": SAEHD_TRAINING,
        "quick128": PresetTraining(sample={"src_flip": False, "pose_warp": 6.0, "pose_warp_axes": "pitch"}),
    }
    # New quick models start from this face prior (--init auto): 1600 pretraining iterations on 30 face sets
    # of ../shared/media, never on the evaluation pair (its metadata lists them; scripts/train_prior.py).
    PRIORS: ClassVar[dict[str, WeightFile]] = {
        "quick": WeightFile(filename="sae_quick.safetensors",
                            sha256="b5c29a0fba99ca5fa55908c9db6101f63d9ee0e54aeea4e8b80ba617a7574ce9",
                            package="faceswap_plugins", subdir="model/priors", pip_name="faceswap"),
    }
    # quick128's own: the quick prior grown to 128 px, then 2500 + 3000 pretraining iterations on the same face sets
    PRIORS["quick128"] = WeightFile(filename="sae_quick128.safetensors",
                                    sha256="6c3a45592fb61aeb6b19e9464f14a668d4c73006b6ad8cec206f00f503713c08",
                                    package="faceswap_plugins", subdir="model/priors", pip_name="faceswap")

    def __init__(self, options: Options, device=None) -> None:
        super().__init__(options, device)
        o = options
        seen = o.resolution // 2 if o.half_input else o.resolution
        features = o.e_dims * 8 * (seen // 16) ** 2
        low = o.resolution // (32 if o.double_res else 16)      # the bottleneck's map; the decoder makes 8x or 16x
        self.encoder = Encoder(o.e_dims)
        if o.archi == "df":
            self.inter = Inter(features, o.ae_dims, o.ae_dims, low)
            self.decoders = nn.ModuleList(Decoder(o.ae_dims, o.d_dims, o.d_mask_dims, o.double_res)
                                          for _ in range(self.decoder_count))
        else:   # SAEHD's LIAE: each inter makes 2 ae_dims channels, the decoder reads both inters' maps
            self.inter_ab = Inter(features, o.ae_dims, o.ae_dims * 2, low)
            self.inter_b = Inter(features, o.ae_dims, o.ae_dims * 2, low)
            self.decoder = Decoder(o.ae_dims * 4, o.d_dims, o.d_mask_dims, o.double_res)
        if o.init == "xavier":
            initialise(self)

    @classmethod
    def grows_from(cls, prior_options: Mapping[str, Any], options: Options) -> bool:
        """A double_res + half_input model starts from the prior of half its resolution (growth.py)."""
        return grows_into(cls.Options, prior_options, options)

    def grow_from(self, weights: Mapping[str, torch.Tensor]) -> None:
        self.load_state_dict(grown_weights(self.state_dict(), weights), strict=True)

    def encode(self, x: torch.Tensor) -> Encoded:
        if self.options.half_input:
            x = F.avg_pool2d(x, 2)
        features = self.encoder(x)
        if self.options.pixel_norm:
            features = pixel_norm(features)
        return Encoded(self.inter(features) if self.options.archi == "df" else features)

    def decode(self, code: torch.Tensor, decoder: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.options.archi == "df":
            return self.decoders[decoder](code)
        ab = self.inter_ab(code)
        other = ab if decoder == 0 else self.inter_b(code)
        return self.decoder(torch.cat([other, ab], dim=1))
