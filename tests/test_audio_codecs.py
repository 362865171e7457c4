"""The audio codecs: every WAV sample format read and written sample for sample, checked
against readers that are not augtool's (soundfile, the standard library's ``wave``), and each
kind of bad input refused with a one-line reason."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest
import soundfile
from audio_data import RATE, pcm16_wav, tone

from augtool.media.audio import codecs
from augtool.media.audio.medium import MEDIUM, encoder_settings, output_format
from augtool.media.base import DecodeError, EncodeError

WAV_SUBTYPES = ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


def _noise(frames: int = 3000, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.clip(rng.normal(0, 0.3, (frames, channels)), -1, 1)


def _soundfile_bytes(samples: np.ndarray, subtype: str, fmt: str = "WAV", rate: int = RATE):
    out = io.BytesIO()
    soundfile.write(out, samples, rate, subtype=subtype, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize("subtype", WAV_SUBTYPES)
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_every_wav_sample_format_reads_as_soundfile_reads_it(subtype: str, channels: int) -> None:
    samples = _noise(channels=channels)
    # soundfile writes WAVE_FORMAT_EXTENSIBLE for more than two channels (format WAVEX)
    data = _soundfile_bytes(samples, subtype, "WAVEX" if channels > 2 else "WAV")
    decoded = codecs.decode(data, codecs.FORMATS, None)
    expected, rate = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=True)
    assert decoded.subtype == subtype and decoded.rate == rate == RATE
    assert decoded.size == (3000, channels)
    np.testing.assert_allclose(decoded.samples, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("subtype", WAV_SUBTYPES)
def test_every_wav_sample_format_round_trips_byte_for_byte(subtype: str) -> None:
    source = _soundfile_bytes(_noise(), subtype)
    decoded = codecs.decode(source, codecs.FORMATS, None)
    written = codecs.write_wav(decoded.samples, decoded.rate, subtype)
    again = codecs.decode(written, codecs.FORMATS, None)
    np.testing.assert_array_equal(again.samples, decoded.samples)
    # soundfile reads augtool's file as it read the source
    theirs = soundfile.read(io.BytesIO(written), dtype="float64", always_2d=True)[0]
    np.testing.assert_allclose(theirs, decoded.samples, atol=1e-12, rtol=0)
    assert soundfile.info(io.BytesIO(written)).subtype == subtype


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32"])
def test_pcm_outputs_are_readable_by_the_wave_module(subtype: str) -> None:
    samples = _noise(500, 2)
    written = codecs.write_wav(samples, 22_050, subtype)
    with wave.open(io.BytesIO(written)) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 22_050
        assert w.getsampwidth() == codecs.BITS[subtype] // 8
        assert w.getnframes() == 500


def test_flac_and_ogg_decode_through_soundfile_and_flac_is_written() -> None:
    samples = _noise(4000, 1)
    flac_bytes = _soundfile_bytes(samples, "PCM_16", "FLAC")
    flac = codecs.decode(flac_bytes, codecs.FORMATS, None)
    assert (flac.format, flac.subtype) == ("FLAC", "PCM_16")
    expected = soundfile.read(io.BytesIO(flac_bytes), dtype="float64", always_2d=True)[0]
    np.testing.assert_array_equal(flac.samples, expected)
    ogg = codecs.decode(_soundfile_bytes(samples, "VORBIS", "OGG"), codecs.FORMATS, None)
    assert ogg.format == "OGG" and ogg.rate == RATE
    written = codecs.encode(flac.samples, RATE, "FLAC", "PCM_16")
    assert written[:4] == b"fLaC"
    np.testing.assert_array_equal(codecs.decode(written, ["FLAC"], None).samples, flac.samples)


def test_output_keeps_the_source_format_unless_told() -> None:
    decoded = codecs.decode(_soundfile_bytes(_noise(), "FLOAT"), codecs.FORMATS, None)
    same = {"subtype": "same", "sample_rate": "same"}
    assert encoder_settings("WAV", same, decoded) == {
        "format": "WAV",
        "subtype": "FLOAT",
        "sample_rate": RATE,
    }
    # FLAC holds no float: the nearest it holds
    assert encoder_settings("FLAC", same, decoded)["subtype"] == "PCM_24"
    chosen = encoder_settings("WAV", {"subtype": "PCM_16", "sample_rate": 8000}, decoded)
    assert chosen == {"format": "WAV", "subtype": "PCM_16", "sample_rate": 8000}
    with pytest.raises(EncodeError, match="FLAC cannot hold FLOAT"):
        encoder_settings("FLAC", {"subtype": "FLOAT", "sample_rate": "same"}, decoded)
    assert output_format("a/b.WAV", "same") == ("WAV", ".WAV")
    assert output_format("a/b.ogg", "same") == ("FLAC", ".flac")
    assert output_format("a/b.wav", "flac") == ("FLAC", ".flac")


def test_eight_bit_sources_stay_eight_bit_in_either_container() -> None:
    """8-bit WAV is unsigned and 8-bit FLAC signed (libsndfile writes no other): under
    ``subtype: same`` each becomes the other's 8 bits, sample for sample."""
    same = {"subtype": "same", "sample_rate": "same"}
    for source, container, written in (
        ("PCM_S8", "FLAC", "PCM_S8"),
        ("PCM_S8", "WAV", "PCM_U8"),
        ("PCM_U8", "FLAC", "PCM_S8"),
        ("PCM_U8", "WAV", "PCM_U8"),
    ):
        fmt = "FLAC" if source == "PCM_S8" else "WAV"
        decoded = codecs.decode(_soundfile_bytes(_noise(), source, fmt), codecs.FORMATS, None)
        assert decoded.subtype == source
        settings = encoder_settings(container, same, decoded)
        assert settings["subtype"] == written
        data = MEDIUM.encode(decoded, None, settings, None)
        assert soundfile.info(io.BytesIO(data)).subtype == written
        again = codecs.decode(data, codecs.FORMATS, None)
        np.testing.assert_array_equal(again.samples, decoded.samples)


def test_a_new_sample_rate_is_written_with_the_length_scaled() -> None:
    decoded = codecs.decode(pcm16_wav(tone(440.0, 0.5)), codecs.FORMATS, None)
    settings = {"format": "WAV", "subtype": "PCM_16", "sample_rate": 8000}
    written = MEDIUM.encode(decoded, None, settings, None)
    with wave.open(io.BytesIO(written)) as w:
        assert w.getframerate() == 8000 and w.getnframes() == 4000


def _with_fmt(tag: int, bits: int = 8, channels: int = 1) -> bytes:
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, RATE, RATE * align, align, bits)
    data = b"\x00" * 100
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data"
    body += struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _bad_inputs() -> dict[str, tuple[bytes, str]]:
    good = pcm16_wav(tone(440.0, 0.1))
    data_at = good.index(b"data")
    wrong_size = bytearray(good)
    wrong_size[data_at + 4 : data_at + 8] = struct.pack("<I", 10_000_001)
    wrong_size[4:8] = struct.pack("<I", len(good) - 8)
    odd = bytearray(good)
    odd[data_at + 4 : data_at + 8] = struct.pack("<I", len(good) - data_at - 9)
    # a data size of an odd number of bytes well short of what follows: the rest is not
    # a chunk, and the reason is still the data size
    short = bytearray(good)
    short[data_at + 4 : data_at + 8] = struct.pack("<I", 1001)
    return {
        "truncated": (good[: len(good) // 2], "truncated WAV"),
        "header only": (good[:10], "truncated WAV header"),
        "no fmt": (_riff(good[8:12] + good[data_at:]), "no 'fmt ' chunk"),
        "wrong data size": (bytes(wrong_size), "wrong WAV data size"),
        "part of a frame": (bytes(odd), "not a whole number of frames"),
        "short data size": (bytes(short), "1001 bytes is not a whole number of frames"),
        "zero length": (pcm16_wav(np.zeros((0, 1))), "zero-length audio"),
        "empty file": (b"", "empty file (0 bytes)"),
        "mu-law": (_soundfile_bytes(_noise(100, 1), "ULAW"), "μ-law"),
        "a-law": (_soundfile_bytes(_noise(100, 1), "ALAW"), "A-law"),
        "ima adpcm": (_soundfile_bytes(_noise(2000, 1), "IMA_ADPCM"), "IMA ADPCM"),
        "ms adpcm": (_with_fmt(2, 4), "Microsoft ADPCM"),
        "gsm": (_with_fmt(0x31, 0), "GSM 6.10"),
        "other codec": (_with_fmt(0x1234, 4), "format tag 0x1234"),
        "12-bit pcm": (_with_fmt(1, 12), "PCM of 12 bits"),
        "16-bit float": (_with_fmt(3, 16), "float of 16 bits"),
        "not audio": (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "unknown signature"),
    }


@pytest.mark.parametrize("case", sorted(_bad_inputs()))
def test_bad_input_is_refused_with_a_one_line_reason(case: str) -> None:
    data, reason = _bad_inputs()[case]
    with pytest.raises(DecodeError) as raised:
        codecs.decode(data, codecs.FORMATS, None)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_broken_chunk_after_the_samples_is_left_unread() -> None:
    """Trailing bytes inside the RIFF that are no whole chunk (a cut LIST, padding junk):
    the samples are whole, and soundfile reads them too."""
    good = pcm16_wav(_noise(1000, 2))
    junk = good + b"LIST" + struct.pack("<I", 4000) + b"INFO"
    junk = junk[:4] + struct.pack("<I", len(junk) - 8) + junk[8:]
    decoded = codecs.decode(junk, codecs.FORMATS, None)
    expected = soundfile.read(io.BytesIO(junk), dtype="float64", always_2d=True)[0]
    np.testing.assert_array_equal(decoded.samples, expected)
    assert decoded.size == (1000, 2)


@pytest.mark.parametrize("fmt", ["FLAC", "OGG"])
def test_a_flac_or_ogg_longer_than_max_seconds_is_refused_before_it_is_decoded(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _soundfile_bytes(tone(440.0, 2.0), "VORBIS" if fmt == "OGG" else "PCM_16", fmt)
    assert codecs.decode(data, codecs.FORMATS, 2.0).frames == 2 * RATE

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the samples were decoded")

    monkeypatch.setattr(soundfile.SoundFile, "read", never)
    with pytest.raises(DecodeError, match=r"2\.000 s is longer than input.max_seconds 1\.5"):
        codecs.decode(data, codecs.FORMATS, 1.5)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"OggS" + bytes(50), "unreadable OGG: File contains data in an unimplemented format."),
        (b"fLaC" + bytes(60), "unreadable FLAC: File contains data in an unimplemented format."),
    ],
    ids=["ogg", "flac"],
)
def test_an_unreadable_flac_or_ogg_gives_the_same_reason_every_time(
    data: bytes, reason: str
) -> None:
    """The reason goes into the manifest's skip line: it must not name an object's address."""
    for _ in range(2):
        with pytest.raises(DecodeError) as raised:
            codecs.decode(data, codecs.FORMATS, None)
        assert str(raised.value) == reason


def test_a_clip_longer_than_max_seconds_is_refused_before_its_samples_are_read() -> None:
    data = pcm16_wav(tone(440.0, 2.0))
    assert codecs.decode(data, ["WAV"], 2.0).frames == 2 * RATE
    with pytest.raises(DecodeError, match=r"2\.000 s is longer than input.max_seconds 1\.5"):
        codecs.decode(data, ["WAV"], 1.5)
    with pytest.raises(DecodeError, match=r"WAV is not among input\.formats"):
        codecs.decode(data, ["FLAC"], None)
