"""The Info frame: LAME 3.100's CBR tag, which describes the whole episode file.

Spliced segments carry no Xing/Info frame of their own (``encode`` writes raw
frames); the splice puts this one frame first, built from the frame count,
byte count, encoder delay and padding of the whole file. Players trim the
delay and padding it declares (gapless playback), read its duration, and
seek by its table of contents.

It depends only on leaves (``crc``, the header tables of ``mpeg``, the
errors): the splice that builds it must stay within the package's budget, so
it takes any format that has the four numbers of :class:`mpeg.Layer3Format`
(``frames.Mp3Format`` has them).
"""

from __future__ import annotations

import struct

import numpy as np

from narrator.container.crc import crc16
from narrator.container.mpeg import (
    JOINT_STEREO,
    MONO,
    SAMPLE_RATES,
    VERSION_ID,
    Layer3Format,
    bitrates_kbps,
    frame_size,
)
from narrator.errors import AudioError

LAME_VERSION = b"LAME3.100"
"""Encoder string of the LAME tag: the libmp3lame bundled with ffmpeg."""

# LAME 3.100's automatic CBR lowpass (lame.c optimum_bandwidth), in Hz, by
# total bitrate; mono CBR gets 1.5 times this, capped below Nyquist.
_LOWPASS_HZ = (
    (8, 2000),
    (16, 3700),
    (24, 3900),
    (32, 5500),
    (40, 7000),
    (48, 7500),
    (56, 10000),
    (64, 11000),
    (80, 13500),
    (96, 15100),
    (112, 15600),
    (128, 17000),
    (160, 17500),
    (192, 18600),
    (224, 19400),
    (256, 19700),
    (320, 20500),
)

_TOC_ENTRIES = 100
_LAME_TAG_BYTES = 4 + 4 + 4 + 4 + _TOC_ENTRIES + 4 + 36
"""LAME's LAMEHEADERSIZE: the Xing part with its TOC, then the LAME extension."""

_SPEC_CRC_SPAN = 190
"""Bytes the LAME tag spec's CRC covers, counted from the frame sync.

The spec (and readers that follow it, like eyeD3) read the tag CRC at bytes
190-191 over bytes 0-189. That is where LAME puts it only for MPEG-1 stereo
(32 bytes of side info); LAME itself always CRCs the bytes before its own CRC
field, wherever the side info leaves it. See :func:`_with_tag_crcs`.
"""

_LAME_QUALITY = 100 - 10 * 4 - 3
"""The tag's quality value for LAME 3.100's CBR defaults (VBR_q 4, -q 3)."""

_LAME_NOISE_SHAPING = 2
"""What LAME 3.100 records for its default CBR quality (measured, ``lame -b``)."""

_ATH_TYPE = 4
_FLAG_NSPSYTUNE = 0x10


def _side_info_bytes(fmt: Layer3Format) -> int:
    if fmt.mpeg_version == 1:
        return 17 if fmt.channels == 1 else 32
    return 9 if fmt.channels == 1 else 17


def _lowpass_hz(fmt: Layer3Format) -> int:
    """Return the lowpass LAME 3.100 picks for this CBR format (LAME tag field)."""
    # LAME indexes its table by the nearest total bitrate
    hz = min(_LOWPASS_HZ, key=lambda row: abs(row[0] - fmt.bitrate_kbps))[1]
    if fmt.channels == 1:
        hz = int(hz * 1.5)
    return min(hz, fmt.sample_rate // 2)


def _tag_end(fmt: Layer3Format) -> int:
    """Return where LAME's tag ends in the Info frame (its CRC is the last 2 bytes)."""
    return 4 + _side_info_bytes(fmt) + _LAME_TAG_BYTES


def info_frame_bitrate(fmt: Layer3Format) -> int:
    """Return the bitrate (kbps) of the Info frame's header for ``fmt``.

    LAME writes its CBR Info frame at the stream's own bitrate, and so does
    this whenever that frame holds the tag with its TOC. Where it does not
    (e.g. 40 kbps at 22.05 kHz: 130 bytes for 169), LAME writes no tag at all;
    but without the tag no player trims the encoder delay and padding, which
    would move every chapter and change the duration players report. So this
    takes, as ffmpeg's MP3 muxer does, the lowest higher bitrate whose frame
    holds the tag, and also the spec's 192-byte CRC span (see
    :func:`info_frame`). Readers that take the first frame's bitrate for the
    whole CBR stream (eyeD3's duration) misjudge such a file; those that read
    the tag's frame count (ffmpeg, mutagen, Apple, ExoPlayer) do not.
    """
    version = fmt.mpeg_version
    if frame_size(version, fmt.bitrate_kbps, fmt.sample_rate, 0) >= _tag_end(fmt):
        return fmt.bitrate_kbps
    need = max(_tag_end(fmt), _SPEC_CRC_SPAN + 2)
    for kbps in bitrates_kbps(version)[1:]:
        size = frame_size(version, kbps, fmt.sample_rate, 0)
        if kbps > fmt.bitrate_kbps and size >= need:
            return kbps
    # unreachable: the top bitrate's frame is 417+ bytes at every sample rate
    raise AudioError(f"no MP3 frame of {fmt} holds a LAME tag.")  # pragma: no cover


def info_frame_size(fmt: Layer3Format) -> int:
    """Return the size in bytes of the Info frame :func:`info_frame` builds."""
    kbps = info_frame_bitrate(fmt)
    return frame_size(fmt.mpeg_version, kbps, fmt.sample_rate, 0)


def lame_toc(total_frames: int) -> bytes:
    """Return the 100-byte seek table LAME 3.100 writes for a CBR stream.

    Entry ``i`` is the byte position, in 256ths of the stream, of ``i`` percent
    of its duration. LAME derives it from running bitrate sums sampled every
    ``want`` frames in a 400-slot bag that is halved whenever it fills
    (``addVbr``, ``Xing_seek_table`` in VbrTag.c); this replays that, float32
    arithmetic included, so the table is LAME's byte for byte. For CBR every
    frame weighs the same, so the bitrate drops out of the ratios: the table is
    linear, about ``256 * i / 100``, truncated.
    """
    if total_frames <= 0:
        return bytes(_TOC_ENTRIES)
    size = 400
    bag = [0] * size
    pos, want, seen, done = 0, 1, 0, 0
    left = total_frames
    while left >= want - seen:
        left -= want - seen
        done += want - seen
        seen = 0
        bag[pos] = done
        pos += 1
        if pos == size:
            for i in range(1, size, 2):
                bag[i // 2] = bag[i]
            want *= 2
            pos //= 2
    if pos == 0:  # pragma: no cover - the first frame always fills a slot
        return bytes(_TOC_ENTRIES)
    total = float(np.float32(total_frames))
    toc = bytearray(_TOC_ENTRIES)
    for i in range(1, _TOC_ENTRIES):
        j = np.float32(i) / np.float32(_TOC_ENTRIES)
        index = min(int(np.floor(j * np.float32(pos))), pos - 1)
        act = float(np.float32(bag[index]))
        toc[i] = min(int(256.0 * act / total), 255)
    return bytes(toc)


def info_frame(
    fmt: Layer3Format,
    *,
    total_frames: int,
    audio_bytes: int,
    enc_delay: int,
    enc_padding: int,
    music_crc: int | None = None,
) -> bytes:
    """Build the Info frame (LAME's CBR tag) that describes the whole file.

    It is a silent frame (zero side info) at :func:`info_frame_bitrate` whose
    payload is LAME 3.100's tag, field for field as ``lame -b`` writes it: the
    Xing part (:func:`_xing_part`), the 36-byte LAME extension
    (:func:`_lame_extension`), then the tag CRC (:func:`_with_tag_crcs`). With
    the TOC, ExoPlayer seeks by the table (to 1/256 of the file) rather than by
    the constant bitrate (google/ExoPlayer#10325); readers that assume LAME's
    fixed layout need it.

    ``audio_bytes`` is the Info frame plus all audio frames (the LAME music
    length), ``music_crc`` the CRC-16 of the audio frames after this one (0
    when unknown).

    Raises:
        AudioError: a value does not fit its field.
    """
    _check_info_fields(total_frames, audio_bytes, enc_delay, enc_padding)
    body = (
        _info_header(fmt)
        + bytes(_side_info_bytes(fmt))
        + _xing_part(total_frames, audio_bytes)
        + _lame_extension(fmt, audio_bytes, enc_delay, enc_padding, music_crc)
    )
    return _with_tag_crcs(body, info_frame_size(fmt))


def _check_info_fields(
    total_frames: int, audio_bytes: int, enc_delay: int, enc_padding: int
) -> None:
    """Refuse values the tag's fixed-width fields would silently truncate.

    Raises:
        AudioError: the delay or padding exceeds 12 bits, or a count 32 bits.
    """
    if not 0 <= enc_delay < 4096 or not 0 <= enc_padding < 4096:
        raise AudioError(
            f"encoder delay {enc_delay} and padding {enc_padding} must each fit "
            "in 12 bits (0-4095)."
        )
    if not 0 < total_frames < 2**32 or not 0 < audio_bytes < 2**32:
        raise AudioError(
            f"{total_frames} frames / {audio_bytes} bytes do not fit an Info tag."
        )


def _info_header(fmt: Layer3Format) -> bytes:
    """Return the 4-byte frame header, with the bits libmp3lame sets on its own."""
    version = fmt.mpeg_version
    table = bitrates_kbps(version)
    bitrate_index = table.index(info_frame_bitrate(fmt))
    rate_index = SAMPLE_RATES[version].index(fmt.sample_rate)
    mode = MONO if fmt.channels == 1 else JOINT_STEREO
    return bytes(
        (
            0xFF,
            0xE0 | (VERSION_ID[version] << 3) | (1 << 1) | 1,  # Layer III, no CRC
            (bitrate_index << 4) | (rate_index << 2),  # no padding, private 0
            (mode << 6) | 0x04,  # "original" set, as in libmp3lame's frames
        )
    )


def _xing_part(total_frames: int, audio_bytes: int) -> bytes:
    """Return the Xing part of the tag, which readers use for duration and seeking.

    ``Info``, flags (frames, bytes, TOC, quality), the audio frame count (the
    Info frame excluded), the byte count (Info frame included), the 100-entry
    TOC (:func:`lame_toc`) and the quality.
    """
    return (
        b"Info"
        + struct.pack(">III", 0x1 | 0x2 | 0x4 | 0x8, total_frames, audio_bytes)
        + lame_toc(total_frames)
        + struct.pack(">I", _LAME_QUALITY)
    )


def _lame_extension(
    fmt: Layer3Format,
    audio_bytes: int,
    enc_delay: int,
    enc_padding: int,
    music_crc: int | None,
) -> bytes:
    """Return the LAME extension (its CRC excluded), as LAME 3.100 fills it for CBR.

    Version ``LAME3.100``, revision 0 / method CBR, lowpass, peak and
    ReplayGain (0: not measured), ATH type and flags, bitrate, encoder delay
    and padding (12 bits each; gapless players and ffmpeg trim them), misc
    (:func:`_lame_misc`), MP3 gain, preset (the bitrate, as LAME records a CBR
    ``-b``), music length and music CRC.
    """
    lowpass = min(int(_lowpass_hz(fmt) / 100 + 0.5), 255)
    return (
        LAME_VERSION
        + bytes((0x01, lowpass))  # revision 0, method CBR
        + struct.pack(">IHH", 0, 0, 0)  # peak and ReplayGain: not measured
        + bytes((_ATH_TYPE | _FLAG_NSPSYTUNE, min(fmt.bitrate_kbps, 255)))
        + ((enc_delay << 12) | enc_padding).to_bytes(3, "big")
        + bytes((_lame_misc(fmt), 0))  # misc, MP3Gain
        + struct.pack(">HIH", fmt.bitrate_kbps, audio_bytes, (music_crc or 0) & 0xFFFF)
    )


def _lame_misc(fmt: Layer3Format) -> int:
    """Return the misc byte: noise shaping, stereo mode, unwise settings, source rate.

    LAME flags every rate up to 32 kHz as an unwise setting, and records the
    source rate as 0 (<= 32 kHz), 1 (44.1 kHz) or 2 (above).
    """
    if fmt.sample_rate <= 32000:
        source_rate = 0
    elif fmt.sample_rate == 44100:
        source_rate = 1
    else:
        source_rate = 2
    unwise = 1 if fmt.sample_rate <= 32000 else 0
    stereo_mode = 0 if fmt.channels == 1 else 3  # mono / joint stereo
    misc = _LAME_NOISE_SHAPING | (stereo_mode << 2) | (unwise << 5)
    misc |= source_rate << 6
    return misc


def _with_tag_crcs(body: bytes, size: int) -> bytes:
    """Return the ``size``-byte frame: ``body``, its tag CRC, zeros, maybe the spec's.

    LAME's tag CRC covers the bytes before that field, and ffmpeg checks it
    there. The spec instead says "the first 190 bytes", stored at byte 190:
    the same place only for MPEG-1 stereo. For every other layout the CRC-16
    of bytes 0-189 is also stored at bytes 190-191, in the zero bytes past
    LAME's tag that no decoder reads, so readers of either kind find a valid
    CRC (a mono file from LAME itself fails eyeD3's check for lack of it).
    A frame too short for that span (a non-preset format whose own frame just
    holds LAME's tag) keeps LAME's layout alone.
    """
    frame = bytearray(size)
    frame[: len(body)] = body
    frame[len(body) : len(body) + 2] = crc16(body).to_bytes(2, "big")
    if len(body) + 2 <= _SPEC_CRC_SPAN <= size - 2:
        span = bytes(frame[:_SPEC_CRC_SPAN])
        frame[_SPEC_CRC_SPAN : _SPEC_CRC_SPAN + 2] = crc16(span).to_bytes(2, "big")
    return bytes(frame)


# --- splicing -------------------------------------------------------------
