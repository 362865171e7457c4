"""The weather family, measured on what each promises: fog raises brightness and lowers
contrast, rain streaks in its colour over a darker image, snow bleaches only what is under its
threshold, shadows darken only inside their recorded polygons, a sun is brightest at its
recorded centre, gravel changes only its recorded patches."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_pixels

from augtool.errors import ParamError
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.hls import rgb_to_hls
from augtool.media.image.transforms.sunlight import RandomShadow, RandomSunFlare
from augtool.media.image.transforms.weather import (
    RandomFog,
    RandomGravel,
    RandomRain,
    RandomSnow,
)
from augtool.preview import sweep_points

WEATHER = sorted(name for name, cls in REGISTRY.items() if cls.family == "weather")


def scene(seed: int = 0, shape: tuple[int, int, int] = (60, 80, 3)) -> np.ndarray:
    """A mid-grey image with texture, far from both ends of the range."""
    return np.random.default_rng(seed).integers(40, 180, size=shape, dtype=np.uint8)


def test_the_family_holds_the_weather_transforms() -> None:
    assert WEATHER == [
        "random_fog", "random_gravel", "random_rain", "random_shadow", "random_snow",
        "random_sun_flare",
    ]  # fmt: skip


def test_fog_raises_mean_brightness_and_lowers_contrast() -> None:
    image = scene()
    params = RandomFog().sample(np.random.default_rng(1), image.shape)
    out = RandomFog.apply(image, {**params, "fog_coef": 0.8, "alpha": 0.3})
    assert out.mean() > image.mean() + 20
    assert out.std() < 0.75 * image.std()
    assert np.array_equal(RandomFog.apply(image, {**params, "alpha": 0.0}), image)


def test_rain_streaks_are_its_colour_and_the_rest_is_darkened() -> None:
    image = np.full((50, 60, 3), 100, dtype=np.uint8)
    rain = RandomRain(blur_value=1, brightness_coefficient=1.0, drop_color=[10, 200, 30])
    params = rain.sample(np.random.default_rng(2), image.shape)
    out = RandomRain.apply(image, params)
    streaks = np.all(out == [10, 200, 30], axis=2)
    assert streaks.sum() > params["count"] * 5  # whole streaks, not dots
    assert (out[~streaks] == 100).all()
    darker = RandomRain.apply(image, {**params, "count": 0, "brightness": 0.5})
    assert (darker == 50).all()


def test_snow_bleaches_only_what_is_under_its_threshold() -> None:
    image = scene(3)
    out = RandomSnow.apply(image, {"snow_point": 0.2, "brightness_coeff": 2.0})
    light = rgb_to_hls(image / 255.0)[:, :, 1]
    under = light < 0.2 / 2 + 1 / 3
    assert under.any() and (~under).any()
    assert np.array_equal(out[~under], image[~under])
    after = rgb_to_hls(out / 255.0)[:, :, 1]
    assert np.allclose(after[under], np.minimum(light[under] * 2, 1), atol=1 / 255)


def test_shadow_darkens_only_inside_its_recorded_polygon() -> None:
    image = scene(4)
    square = [[10, 12], [40, 12], [40, 30], [10, 30]]
    out = RandomShadow.apply(image, {"shadows": [{"vertices": square, "intensity": 0.5}]})
    inside = np.zeros(image.shape[:2], dtype=bool)
    inside[12:31, 10:41] = True  # Pillow fills the outline too
    assert np.array_equal(out[~inside], image[~inside])
    assert np.array_equal(out[inside], np.rint(image[inside] * 0.5).astype(np.uint8))


def test_shadow_samples_simple_polygons_inside_the_region() -> None:
    shadow = RandomShadow(shadow_roi=[0.5, 0.5, 1, 1], num_shadows_limit=[3, 3])
    params = shadow.sample(np.random.default_rng(5), (100, 200, 3))
    assert len(params["shadows"]) == 3
    for item in params["shadows"]:
        xs, ys = np.array(item["vertices"]).T
        assert len(xs) == 5 and xs.min() >= 100 and ys.min() >= 50
        out = RandomShadow.apply(scene(5, (100, 200, 3)), {"shadows": [item]})
        assert (out[:50] == scene(5, (100, 200, 3))[:50]).all()


def test_sun_is_its_colour_at_the_centre_and_fades_with_distance() -> None:
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    params = {"centre": [20.5, 10.5], "src_radius": 15, "src_color": [255, 240, 200], "circles": []}
    out = RandomSunFlare.apply(image, params)
    assert out[10, 20].tolist() == [255, 240, 200]
    row = out[10, 20:].sum(axis=1)
    assert (np.diff(row.astype(int)) <= 0).all() and row[16:].max() == 0
    flare = RandomSunFlare(src_radius=10).sample(np.random.default_rng(6), image.shape)
    assert 6 <= len(flare["circles"]) <= 10 and flare["centre"][1] <= 20


def test_gravel_changes_only_its_recorded_patches() -> None:
    image = scene(7, (100, 120, 3))
    params = RandomGravel().sample(np.random.default_rng(8), image.shape)
    out = RandomGravel.apply(image, params)
    inside = np.zeros(image.shape[:2], dtype=bool)
    for left, top, right, bottom in params["patches"]:
        inside[top:bottom, left:right] = True
    changed = np.any(out != image, axis=2)
    assert changed.sum() > 20 and not (changed & ~inside).any()


def test_a_region_must_be_four_fractions_each_min_below_its_max() -> None:
    with pytest.raises(ParamError, match=r"x_min, y_min, x_max, y_max"):
        RandomShadow(shadow_roi=[0.5, 0.5, 0.4, 1])
    with pytest.raises(ParamError, match=r"x_min, y_min, x_max, y_max"):
        RandomGravel(gravel_roi=[0, 0, 1.5, 1])


@pytest.mark.parametrize("name", WEATHER)
def test_alpha_and_grey_are_handled(name: str) -> None:
    cls = REGISTRY[name]
    rgba = random_pixels((40, 30, 4), 3)
    params = cls().sample(np.random.default_rng(5), rgba.shape)
    out = cls.apply(rgba, params)
    assert np.array_equal(out[:, :, 3], rgba[:, :, 3])
    assert np.array_equal(out[:, :, :3], cls.apply(rgba[:, :, :3].copy(), params))
    grey = random_pixels((40, 30, 1), 3)
    assert cls.apply(grey, cls().sample(np.random.default_rng(5), grey.shape)).shape == grey.shape


#: Configs whose sweep has a range to move.
SWEPT = {
    "random_sun_flare": {"src_radius": [5, 60]},
    "random_gravel": {"number_of_patches": [1, 4]},
}


@pytest.mark.parametrize("name", WEATHER)
def test_sweep_low_and_high_differ(name: str) -> None:
    """Each transform gets a preview --sweep row whose low and high ends render differently."""
    points = dict(sweep_points(REGISTRY[name](**SWEPT.get(name, {}))))
    assert list(points) == ["low", "mid", "high"]
    image = scene(9, (64, 64, 3))
    low, high = (
        points[at].apply(image, points[at].sample(np.random.default_rng(0), image.shape))
        for at in ("low", "high")
    )
    assert not np.array_equal(low, high)
