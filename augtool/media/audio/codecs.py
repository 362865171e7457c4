"""Audio codecs: WAV read and written with numpy over the RIFF chunks; FLAC and OGG/Vorbis
through ``soundfile`` (the ``augtool[audio]`` extra), chosen by the bytes' signature.

Samples are float64 arrays of shape (frames, channels), full scale ±1.0. PCM of b bits maps
to and from float by 2**(b-1) (8-bit PCM is unsigned, centred on 128), so a PCM source that no
step changed is written back sample for sample. The standard library's ``wave`` is not used to
read: it refuses IEEE float (format 3) and, before Python 3.12, WAVE_FORMAT_EXTENSIBLE.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.media.base import DecodeError, EncodeError

PCM, IEEE_FLOAT, ALAW, MULAW, EXTENSIBLE = 1, 3, 6, 7, 0xFFFE
#: the codecs a refused WAV most often holds, named in the reason
CODEC_NAMES = {
    ALAW: "A-law",
    MULAW: "μ-law",
    0x0002: "Microsoft ADPCM",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG",
    0x0055: "MP3",
}
#: WAV subtypes by (format tag, bits per sample); names are soundfile's
WAV_SUBTYPES = {
    (PCM, 8): "PCM_U8",
    (PCM, 16): "PCM_16",
    (PCM, 24): "PCM_24",
    (PCM, 32): "PCM_32",
    (IEEE_FLOAT, 32): "FLOAT",
    (IEEE_FLOAT, 64): "DOUBLE",
}
BITS = {name: bits for (_, bits), name in WAV_SUBTYPES.items()}
FORMATS = ("WAV", "FLAC", "OGG")
INSTALL_HINT = "pip install 'augtool[audio]'"
#: subtypes each output format can hold (8-bit WAV is unsigned, 8-bit FLAC signed)
WRITABLE = {
    "WAV": tuple(WAV_SUBTYPES.values()),
    "FLAC": ("PCM_S8", "PCM_16", "PCM_24"),
    "OGG": ("VORBIS",),
}


@dataclass(frozen=True)
class Decoded:
    """A decoded clip: float64 samples (frames, channels), its rate, and how it was stored."""

    samples: np.ndarray
    rate: int
    format: str  # WAV | FLAC | OGG
    subtype: str  # PCM_16, FLOAT … (soundfile's names)

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def size(self) -> tuple[int, int]:
        return self.frames, self.channels


def sniff(data: bytes) -> str | None:
    """The container by its signature: WAV, FLAC or OGG."""
    if data[:4] == b"RIFF" and (len(data) < 12 or data[8:12] == b"WAVE"):
        return "WAV"
    if data[:4] == b"fLaC":
        return "FLAC"
    if data[:4] == b"OggS":
        return "OGG"
    return None


def decode(data: bytes, formats: Sequence[str], max_seconds: float | None) -> Decoded:
    """``data`` decoded when its container is among ``formats`` and it lasts at most
    ``max_seconds``; raises :class:`DecodeError` with a one-line reason."""
    kind = sniff(data)
    if not data:
        raise DecodeError("empty file (0 bytes)")
    if kind is None:
        raise DecodeError("not a WAV, FLAC or OGG file (unknown signature)")
    if kind not in formats:
        raise DecodeError(f"{kind} is not among input.formats {list(formats)}")
    if kind == "WAV":
        decoded = read_wav(data, max_seconds)
    else:
        decoded = _read_soundfile(data, kind, max_seconds)
    if decoded.frames == 0:
        raise DecodeError("zero-length audio (no sample frames)")
    _check_length(decoded.frames, decoded.rate, max_seconds)
    return decoded


def _check_length(frames: int, rate: int, max_seconds: float | None) -> None:
    if max_seconds is not None and frames > max_seconds * rate:
        raise DecodeError(f"{frames / rate:.3f} s is longer than input.max_seconds {max_seconds:g}")


def _chunks(data: bytes) -> dict[bytes, tuple[int, int]]:
    """(offset, size) of each top-level chunk of a RIFF/WAVE file (the first of each id)."""
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size + 8 > len(data):
        raise DecodeError(f"truncated WAV: RIFF says {riff_size + 8} bytes, file has {len(data)}")
    found: dict[bytes, tuple[int, int]] = {}
    pos, end = 12, riff_size + 8
    while pos + 8 <= end:
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if pos + 8 + size > end and cid == b"data":
            raise DecodeError(
                f"wrong WAV data size: 'data' says {size} bytes, {end - pos - 8} follow"
            )
        if pos + 8 + size > end and b"fmt " in found and b"data" in found:
            break  # a broken chunk after the samples: none is read (no metadata travels)
        if pos + 8 + size > end:
            raise DecodeError(
                f"malformed WAV: chunk {cid.decode('latin-1')!r} of {size} bytes runs past the end"
            )
        found.setdefault(cid, (pos + 8, size))
        pos += 8 + size + (size & 1)
    return found


def read_wav(data: bytes, max_seconds: float | None = None) -> Decoded:
    """A WAV file's samples (PCM 8/16/24/32-bit, IEEE float 32/64, plain or EXTENSIBLE)."""
    if len(data) < 12:
        raise DecodeError("truncated WAV header")
    chunks = _chunks(data)
    if b"fmt " not in chunks or chunks[b"fmt "][1] < 16:
        raise DecodeError("malformed WAV: no 'fmt ' chunk")
    if b"data" not in chunks:
        raise DecodeError("malformed WAV: no 'data' chunk")
    at, fmt_size = chunks[b"fmt "]
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", data, at)
    if tag == EXTENSIBLE and fmt_size >= 40:
        # The real format is the first two bytes of the sub-format GUID.
        tag = struct.unpack_from("<H", data, at + 24)[0]
    subtype = WAV_SUBTYPES.get((tag, bits))
    if subtype is None:
        raise DecodeError(_unsupported(tag, bits))
    if channels < 1 or rate < 1 or align != channels * bits // 8:
        raise DecodeError(
            f"malformed WAV header: {channels} channels, {rate} Hz, block align {align}"
        )
    start, size = chunks[b"data"]
    if size % align:
        raise DecodeError(f"wrong WAV data size: {size} bytes is not a whole number of frames")
    frames = size // align
    _check_length(frames, rate, max_seconds)
    raw = data[start : start + size]
    return Decoded(_samples(raw, subtype, channels), rate, "WAV", subtype)


def _unsupported(tag: int, bits: int) -> str:
    """Why a WAV's format tag and sample width are not read, in one line."""
    if tag in CODEC_NAMES:
        return f"unsupported WAV codec: {CODEC_NAMES[tag]}"
    if tag in (PCM, IEEE_FLOAT):
        kind, read = ("PCM", "8, 16, 24 or 32") if tag == PCM else ("float", "32 or 64")
        return f"unsupported WAV sample width: {kind} of {bits} bits (only {read} are read)"
    return f"unsupported WAV codec: format tag {tag:#06x}"


def _samples(raw: bytes, subtype: str, channels: int) -> np.ndarray:
    if subtype == "PCM_U8":
        ints = np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0
    elif subtype == "PCM_24":
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)).astype(np.int64)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints).astype(np.float64)
    elif subtype in ("FLOAT", "DOUBLE"):
        floats = np.frombuffer(raw, "<f4" if subtype == "FLOAT" else "<f8").astype(np.float64)
        if not np.isfinite(floats).all():
            raise DecodeError("float WAV holds NaN or infinite samples")
        return floats.reshape(-1, channels)
    else:
        ints = np.frombuffer(raw, {"PCM_16": "<i2", "PCM_32": "<i4"}[subtype]).astype(np.float64)
    return (ints / float(1 << (BITS[subtype] - 1))).reshape(-1, channels)


def _read_soundfile(data: bytes, kind: str, max_seconds: float | None = None) -> Decoded:
    soundfile = _soundfile(kind)
    try:
        with soundfile.SoundFile(io.BytesIO(data)) as f:
            # refused from the stream's header: an hour of FLAC is gigabytes as float64
            _check_length(int(f.frames), int(f.samplerate), max_seconds)
            samples = f.read(dtype="float64", always_2d=True)
            return Decoded(samples, int(f.samplerate), kind, str(f.subtype))
    except (RuntimeError, soundfile.LibsndfileError) as exc:  # type: ignore[attr-defined]
        # libsndfile's own words: soundfile's message names the BytesIO by its address,
        # which would change the manifest's skip line from run to run.
        reason = getattr(exc, "error_string", None) or str(exc)
        raise DecodeError(f"unreadable {kind}: {reason.splitlines()[0]}") from None


def _soundfile(kind: str, error: type[Exception] = DecodeError) -> Any:
    try:
        import soundfile
    except ImportError:
        raise error(f"{kind} needs soundfile, not installed ({INSTALL_HINT})") from None
    return soundfile


def soundfile_installed() -> bool:
    try:
        import soundfile  # noqa: F401
    except ImportError:
        return False
    return True


def soundfile_version() -> str | None:
    try:
        import soundfile
    except ImportError:
        return None
    return f"{soundfile.__version__} (libsndfile {soundfile.__libsndfile_version__})"


def to_ints(samples: np.ndarray, subtype: str) -> np.ndarray:
    """Full-scale floats (already within ±1) as the integers of a PCM subtype."""
    bits = BITS[subtype]
    scale = float(1 << (bits - 1))
    ints = np.clip(np.rint(samples * scale), -scale, scale - 1).astype(np.int64)
    return ints + 128 if subtype == "PCM_U8" else ints


def encode(samples: np.ndarray, rate: int, container: str, subtype: str) -> bytes:
    """``samples`` (within ±1) as the bytes of ``container`` in ``subtype``."""
    if subtype not in WRITABLE.get(container, ()):
        raise EncodeError(f"{container} cannot hold {subtype} samples")
    if container == "WAV":
        return write_wav(samples, rate, subtype)
    soundfile = _soundfile(container, EncodeError)
    out = io.BytesIO()
    soundfile.write(out, samples, rate, subtype=subtype, format=container)
    return out.getvalue()


def write_wav(samples: np.ndarray, rate: int, subtype: str) -> bytes:
    """A canonical WAV: RIFF, a 16-byte ``fmt `` chunk (18 with cbSize for float), ``data``;
    no other chunk, so no metadata travels."""
    channels = samples.shape[1]
    bits = BITS[subtype]
    if subtype in ("FLOAT", "DOUBLE"):
        payload = samples.astype("<f4" if subtype == "FLOAT" else "<f8").tobytes()
        tag, fmt_extra = IEEE_FLOAT, struct.pack("<H", 0)
    else:
        ints = to_ints(samples, subtype)
        if subtype == "PCM_24":
            u = (ints & 0xFFFFFF).astype("<u4").reshape(-1, 1)
            parts = [(u >> shift) & 0xFF for shift in (0, 8, 16)]
            payload = np.concatenate(parts, 1).astype("u1").tobytes()
        else:
            dtype = {"PCM_U8": "u1", "PCM_16": "<i2", "PCM_32": "<i4"}[subtype]
            payload = ints.astype(dtype).tobytes()
        tag, fmt_extra = PCM, b""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits) + fmt_extra
    pad = b"\0" if len(payload) & 1 else b""
    body = b"WAVE" + _chunk(b"fmt ", fmt) + _chunk(b"data", payload) + pad
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload


__all__ = [
    "FORMATS",
    "INSTALL_HINT",
    "WAV_SUBTYPES",
    "WRITABLE",
    "Decoded",
    "decode",
    "encode",
    "read_wav",
    "sniff",
    "soundfile_version",
    "write_wav",
]
