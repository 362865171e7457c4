"""Sensor noise of the ``noise`` family, as Albumentations has it: ``iso_noise`` (a camera's
high-ISO colour and luminance noise) and ``multiplicative_noise`` (gain noise). Like every noise
here they record a ``seed`` and draw from ``PCG64(seed)`` inside ``apply``; alpha is never
changed and labels stay where they are.
"""

from __future__ import annotations

import numpy as np

from augtool.media.image.transforms.hls import hls_to_rgb, rgb_to_hls
from augtool.media.image.transforms.imaging import join_alpha, split_alpha
from augtool.media.image.transforms.noise import new_seed, seeded, to_uint8
from augtool.media.params import Bool, Param, Range
from augtool.media.transform import Params, Shape, Transform, register, uniform

FAMILY = "noise"


@register
class IsoNoise(Transform):
    name = "iso_noise"
    summary = (
        "Add a camera sensor's high-ISO noise: Poisson noise raising the lightness and normal "
        "noise turning the hue (Albumentations' ISONoise; a grey image gets the lightness noise)."
    )
    family = FAMILY
    params = (
        Param(
            "color_shift",
            Range(0, 1),
            [0.01, 0.05],
            "range of the hue noise's standard deviation, in turns of the colour circle "
            "(times intensity)",
        ),
        Param(
            "intensity",
            Range(0, 10),
            [0.1, 0.5],
            "range of the noise strength: it scales both the hue and the lightness noise",
        ),
    )
    example = "- iso_noise: {color_shift: [0.01, 0.05], intensity: [0.1, 0.5], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "color_shift": uniform(rng, self.config["color_shift"]),
            "intensity": uniform(rng, self.config["intensity"]),
            "seed": new_seed(rng),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        """Albumentations' algorithm: lightness L gains ``n / 255 * (1 - L)`` with ``n`` drawn
        from Poisson(std(L) * intensity * 255) per pixel, and the hue a normal draw of standard
        deviation ``color_shift * intensity`` turns (drawn after all the Poisson draws)."""
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        if colour.size == 0:
            return image.copy()
        values = colour.astype(np.float32) / np.float32(255)
        grey = colour.shape[2] == 1
        hls = None if grey else rgb_to_hls(values)
        light = values[:, :, 0] if grey else hls[:, :, 1]
        rng = seeded(params["seed"])
        lam = float(light.std(dtype=np.float64)) * params["intensity"] * 255
        noise = rng.poisson(lam, size=(height, width)).astype(np.float32)
        hue_noise = rng.normal(0.0, params["color_shift"] * params["intensity"], (height, width))
        light = light + noise / np.float32(255) * (1 - light)
        if grey:
            return to_uint8(light[:, :, None] * np.float32(255))
        hls[:, :, 0] = (hls[:, :, 0] + hue_noise.astype(np.float32)) % 1
        hls[:, :, 1] = light
        return join_alpha(to_uint8(hls_to_rgb(hls) * np.float32(255)), alpha)


@register
class MultiplicativeNoise(Transform):
    name = "multiplicative_noise"
    summary = (
        "Multiply the image by random factors: one for the image, one per channel, or one per "
        "pixel (Albumentations' MultiplicativeNoise)."
    )
    family = FAMILY
    params = (
        Param("multiplier", Range(0, 10), [0.9, 1.1], "range the factors are drawn from"),
        Param("per_channel", Bool(), False, "a factor per colour channel rather than one for all"),
        Param(
            "elementwise",
            Bool(),
            False,
            "a factor per pixel (and per channel when per_channel is true)",
        ),
    )
    example = "- multiplicative_noise: {multiplier: [0.9, 1.1], per_channel: true, p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        planes = min(shape[2], 3) if self.config["per_channel"] else 1
        if self.config["elementwise"]:
            lo, hi = self.config["multiplier"]
            return {"low": lo, "high": hi, "planes": planes, "seed": new_seed(rng)}
        return {"factors": [uniform(rng, self.config["multiplier"]) for _ in range(planes)]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        if "factors" in params:
            factors = np.array(params["factors"], dtype=np.float32)
        else:
            size = (*colour.shape[:2], params["planes"])
            draw = seeded(params["seed"]).random(size, dtype=np.float32)
            factors = np.float32(params["low"]) + draw * np.float32(params["high"] - params["low"])
        return join_alpha(to_uint8(colour.astype(np.float32) * factors), alpha)
