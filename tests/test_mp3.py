"""Segment encoding and splicing, checked with the real bundled ffmpeg and mutagen.

Each episode here is three short segments of silence with a 1 kHz tone burst
at a known sample; after splicing, the bursts must be found where the timing
contract of ``narrator.container.frames`` says (segment k starts at the sum of the
frames before it times the frame size).
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import eyed3
import numpy as np
import pytest
from eyed3.mp3.headers import LameHeader
from mutagen.id3 import ID3, TIT2
from mutagen.mp3 import MP3, BitrateMode

from narrator.container import encode
from narrator.container.crc import crc16, crc16_combine
from narrator.container.encode import (
    decode_pcm,
    decoded_sample_count,
    encode_segment,
    read_segment,
)
from narrator.container.frames import (
    LAME_ENCODER_DELAY,
    EncodedSegment,
    Mp3Format,
    expected_frames,
    fill_to_frame,
    frame_samples,
    scan_frames,
)
from narrator.container.info import (
    info_frame,
    info_frame_bitrate,
    info_frame_size,
    lame_toc,
)
from narrator.container.splice import SpliceResult, plan_splice, splice
from narrator.errors import AudioError, ConfigError
from narrator.ffmpeg import decode_file, ffmpeg_exe

FORMATS = {
    "phone": Mp3Format(44100, 1, 64),
    "small": Mp3Format(22050, 1, 40),
    "hq": Mp3Format(44100, 2, 128),
}
SEGMENT_SECONDS = (0.73, 1.21, 0.5)
BURST_SECONDS = (0.1, 0.2, 0.05)
BURST_MS = 20


def _burst(sample_rate: int) -> np.ndarray:
    t = np.arange(sample_rate * BURST_MS // 1000)
    return 0.5 * np.sin(2 * np.pi * 1000 * t / sample_rate) * np.hanning(len(t))


def _pcm(signal: np.ndarray, channels: int) -> bytes:
    frames = np.repeat(signal[:, None], channels, axis=1)
    return (frames * 32767).astype("<i2").tobytes()


def _chunks(data: bytes, size: int = 10_000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _tone_segment(fmt: Mp3Format, index: int) -> tuple[bytes, int]:
    """Return PCM of segment ``index`` and the sample where its burst starts."""
    rate = fmt.sample_rate
    # odd lengths, so nothing lines up with a frame boundary by luck
    signal = np.zeros(int(rate * SEGMENT_SECONDS[index]) + 17 + 31 * index)
    burst_at = int(rate * BURST_SECONDS[index]) + 5 + 3 * index
    burst = _burst(rate)
    signal[burst_at : burst_at + len(burst)] = burst
    return _pcm(signal, fmt.channels), burst_at


@dataclass(frozen=True)
class Episode:
    fmt: Mp3Format
    path: Path
    segments: tuple[EncodedSegment, ...]
    result: SpliceResult
    bursts: tuple[int, ...]
    id3: bytes


def _id3_bytes(tmp: Path) -> bytes:
    tag_path = tmp / "tag.id3"
    tag_path.write_bytes(b"")
    tag = ID3()
    tag.add(TIT2(encoding=3, text=["Épisode d'essai"]))
    tag.save(tag_path, v2_version=3)
    return tag_path.read_bytes()


@pytest.fixture(scope="module", params=sorted(FORMATS))
def episode(request: pytest.FixtureRequest, tmp_path_factory) -> Episode:
    fmt = FORMATS[request.param]
    tmp = tmp_path_factory.mktemp(request.param)
    segments = []
    bursts = []
    for index in range(3):
        pcm, burst_at = _tone_segment(fmt, index)
        segments.append(encode_segment(_chunks(pcm), fmt, tmp / f"seg{index}.mp3"))
        bursts.append(burst_at)
    id3 = _id3_bytes(tmp)
    path = tmp / "episode.mp3"
    with path.open("wb") as out:
        result = splice(segments, fmt, out, id3=id3)
    return Episode(fmt, path, tuple(segments), result, tuple(bursts), id3)


def _ffmpeg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
        capture_output=True,
        text=True,
        check=False,
    )


# --- the timing contract --------------------------------------------------


def test_decoded_length_is_exact(episode: Episode) -> None:
    fs = frame_samples(episode.fmt)
    segments = episode.segments
    expected = sum(s.frames for s in segments[:-1]) * fs + segments[-1].samples
    assert episode.result.duration_samples == expected
    assert decoded_sample_count(episode.path) == expected


def test_segment_starts_land_where_predicted(episode: Episode) -> None:
    fmt = episode.fmt
    rate = fmt.sample_rate
    fs = frame_samples(fmt)
    starts = episode.result.segment_starts
    assert starts == tuple(
        sum(s.frames for s in episode.segments[:k]) * fs for k in range(3)
    )
    decoded = np.frombuffer(b"".join(decode_pcm(episode.path)), "<i2") / 32767
    template = _burst(rate)
    window = rate // 20
    for start, burst_at in zip(starts, episode.bursts, strict=True):
        predicted = start + burst_at
        region = decoded[predicted - window : predicted + window + len(template)]
        found = predicted - window + int(np.argmax(np.correlate(region, template)))
        assert abs(found - predicted) <= rate // 1000, (found, predicted)


def test_frame_count_follows_lame_padding() -> None:
    for fmt in FORMATS.values():
        fs = frame_samples(fmt)
        for samples in (1, fs - 1, fs, fs + 1, 3 * fs + 577):
            assert expected_frames(samples, fmt) * fs - 576 - samples in range(
                576, 576 + fs
            )


def test_filling_to_a_frame_gives_minimum_padding() -> None:
    for fmt in FORMATS.values():
        fs = frame_samples(fmt)
        for samples in (1, fs - 1, fs, 5 * fs + 333):
            filled = samples + fill_to_frame(samples, fmt)
            assert filled % fs == 0
            assert expected_frames(filled, fmt) * fs == filled + 1152


def test_encoder_delay_matches_ffmpegs_own_lame_tag(tmp_path: Path) -> None:
    # ffmpeg writing a seekable file records libmp3lame's delay and padding;
    # our raw segment of the same PCM must agree with both.
    fmt = FORMATS["phone"]
    pcm, _ = _tone_segment(fmt, 1)
    raw_path = tmp_path / "pcm.raw"
    raw_path.write_bytes(pcm)
    reference = tmp_path / "reference.mp3"
    done = _ffmpeg(
        *("-v", "error", "-f", "s16le", "-ar", "44100", "-ac", "1"),
        *("-i", str(raw_path), "-c:a", "libmp3lame", "-b:a", "64k"),
        *("-id3v2_version", "0", str(reference)),
    )
    assert done.returncode == 0, done.stderr
    segment = encode_segment([pcm], fmt, tmp_path / "seg.mp3")
    samples = len(pcm) // 2
    assert segment.frames == expected_frames(samples, fmt)
    data = reference.read_bytes()
    version = re.search(rb"LAME|Lavc|Lavf", data)
    assert version, "ffmpeg wrote no LAME tag"
    delay_padding = int.from_bytes(data[version.start() + 21 :][:3], "big")
    fs = frame_samples(fmt)
    assert delay_padding >> 12 == LAME_ENCODER_DELAY == 576
    assert delay_padding & 0xFFF == segment.frames * fs - 576 - samples
    # after its Info frame, ffmpeg's own file holds our frames byte for byte
    assert data.endswith(segment.path.read_bytes())
    assert len(data) == segment.size_bytes + info_frame_size(fmt)


# --- what readers see -----------------------------------------------------


def test_mutagen_reads_a_cbr_lame_file(episode: Episode) -> None:
    fmt = episode.fmt
    info = MP3(episode.path).info
    assert info.bitrate_mode == BitrateMode.CBR
    assert info.channels == fmt.channels
    assert info.sample_rate == fmt.sample_rate
    assert round(info.bitrate / 1000) == fmt.bitrate_kbps
    decoded_s = episode.result.duration_samples / fmt.sample_rate
    assert info.length == pytest.approx(decoded_s, abs=0.001)
    assert info.encoder_info.startswith("LAME 3.100")
    assert info.encoder_settings == f"-b {fmt.bitrate_kbps}"


def test_ffmpeg_decodes_without_warnings(episode: Episode) -> None:
    done = _ffmpeg("-v", "warning", "-i", str(episode.path), "-f", "null", "-")
    assert done.returncode == 0
    assert done.stderr.strip() == ""


def test_ffmpeg_reports_duration_and_trusts_the_lame_tag(episode: Episode) -> None:
    done = _ffmpeg("-i", str(episode.path))
    match = re.search(r"Duration: (\d+):(\d+):(\d+\.\d+)", done.stderr)
    assert match, done.stderr
    hours, minutes, seconds = match.groups()
    reported = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    expected = episode.result.duration_samples / episode.fmt.sample_rate
    assert reported == pytest.approx(expected, abs=0.030)
    # ffmpeg exports the encoder only when the LAME tag's CRC checks out
    assert re.search(r"encoder\s*:\s*LAME3\.100", done.stderr), done.stderr


def test_id3_tag_precedes_the_info_frame(episode: Episode) -> None:
    data = episode.path.read_bytes()
    offset = episode.result.audio_offset
    assert offset == len(episode.id3)
    assert data[:offset] == episode.id3
    side_info = {(1, 1): 17, (1, 2): 32, (2, 1): 9, (2, 2): 17}[
        (episode.fmt.mpeg_version, episode.fmt.channels)
    ]
    assert data[offset] == 0xFF  # frame sync right after the tag
    assert data[offset + 4 + side_info :][:4] == b"Info"
    body = data[offset:]
    info_size = info_frame_size(episode.fmt)
    assert scan_frames(body[:info_size]) == [0]  # one whole frame
    assert scan_frames(body[info_size:], episode.fmt)
    assert len(body) == episode.result.audio_bytes
    tags = MP3(episode.path).tags
    assert tags is not None
    assert str(tags["TIT2"]) == "Épisode d'essai"


SIDE_INFO = {(1, 1): 17, (1, 2): 32, (2, 1): 9, (2, 2): 17}


def test_info_frame_fields(episode: Episode) -> None:
    fmt = episode.fmt
    data = episode.path.read_bytes()[episode.result.audio_offset :]
    frame_size = info_frame_size(fmt)
    frame = data[:frame_size]
    assert scan_frames(frame) == [0]
    start = 4 + SIDE_INFO[(fmt.mpeg_version, fmt.channels)]
    assert frame[start : start + 4] == b"Info"
    flags, frames, size = np.frombuffer(frame[start + 4 : start + 16], ">u4")
    assert flags == 0x1 | 0x2 | 0x4 | 0x8  # frames, bytes, TOC, quality
    assert (
        frames == episode.result.total_frames == sum(s.frames for s in episode.segments)
    )
    assert size == episode.result.audio_bytes
    toc = frame[start + 16 : start + 116]
    assert toc == lame_toc(frames)
    assert toc[0] == 0 and toc[99] >= 250 and list(toc) == sorted(toc)
    assert int.from_bytes(frame[start + 116 : start + 120], "big") == 57
    lame = start + 120
    assert frame[lame : lame + 9] == b"LAME3.100"
    assert frame[lame + 9] == 0x01  # tag revision 0, CBR
    assert frame[lame + 20] == fmt.bitrate_kbps
    delay_padding = int.from_bytes(frame[lame + 21 : lame + 24], "big")
    last = episode.segments[-1]
    fs = frame_samples(fmt)
    assert delay_padding >> 12 == 576
    assert delay_padding & 0xFFF == last.frames * fs - 576 - last.samples
    assert int.from_bytes(frame[lame + 26 : lame + 28], "big") == fmt.bitrate_kbps
    music_length = int.from_bytes(frame[lame + 28 : lame + 32], "big")
    music_crc = int.from_bytes(frame[lame + 32 : lame + 34], "big")
    tag_crc = int.from_bytes(frame[lame + 34 : lame + 36], "big")
    assert music_length == episode.result.audio_bytes
    assert music_crc == _crc16_bitwise(data[frame_size:])
    assert tag_crc == _crc16_bitwise(frame[: lame + 34])
    # the spec's CRC of the first 190 bytes, at 190 (LAME's own for MPEG-1 stereo)
    assert int.from_bytes(frame[190:192], "big") == _crc16_bitwise(frame[:190])
    assert not any(frame[lame + 36 : 190]) and not any(frame[192:])


# The Info frame `lame -b 64 -m m` (LAME 3.100, Debian) wrote for 7.3 s of a
# 400 Hz tone at 44.1 kHz: 281 audio frames, padding 1206.
LAME_INFO_64_MONO = bytes.fromhex(
    "fffb50c40000000000000000000000000000000000496e666f0000000f000001190000e633"
    "000205080a0d0f1214171a1c1e212427282b2e313336383b3d404345474a4d505154575a5c"
    "5e616466696c6e707376797a7d808385878a8d8f929497999c9fa2a3a6a9acaeb0b3b6b8bb"
    "bdc0c2c5c8cacccfd2d5d7d9dcdfe1e4e6e9ebeef1f3f5f8fbfe000000394c414d45332e31"
    "303001a5000000002c25000014402404b6420000400000e633a7ae7980"
) + bytes(208 - 177)

# LAME 3.100's TOC for longer streams (its seek bag halves at 400 entries).
LAME_TOCS = {
    282: "000205080a0d0f1214171a1d1e212427292b2e313336393b3d404345474a4d4f52555759"
    "5c5f626366696c6e717376787b7e808285888a8d8f9294979a9d9ea1a4a7a9abaeb1b3b6b9"
    "bbbdc0c3c5c7cacdcfd2d5d7d9dcdfe2e3e6e9eceef1f3f6f8fbfe",
    22970: "000205070a0c0f121417191c1e212426292b2e313336383b3d404345484a4d4f525457"
    "595c5e616366686b6d707375787a7d808285878a8c8f929497999c9ea1a4a6a9abaeb0b3b5"
    "b8babdbfc2c4c7c9ccced1d4d6d9dbdee1e3e6e8ebedf0f3f5f8fafd",
    50002: "000205070a0d0f1214171a1c1e212426292b2e313335383a3d404245484a4d4f515457"
    "595c5f616466686b6e707375787b7d808285878a8c8f9294979a9b9ea1a3a6a9abaeb0b3b5"
    "b8babdc0c2c5c7cacdcfd1d4d6d9dcdee1e4e6e8ebedf0f3f5f8fafd",
}


def test_info_frame_is_lames_own() -> None:
    reference = LAME_INFO_64_MONO
    lame = reference.index(b"LAME3.100")
    ours = info_frame(
        Mp3Format(44100, 1, 64),
        total_frames=281,
        audio_bytes=0xE633,
        enc_delay=576,
        enc_padding=1206,
        music_crc=0xA7AE,
    )
    assert len(ours) == len(reference) == 208
    # all but LAME's measured ReplayGain (we write "not set") and the CRCs
    radio_gain = lame + 15
    assert ours[:radio_gain] == reference[:radio_gain]
    assert ours[radio_gain : radio_gain + 2] == bytes(2)
    assert ours[radio_gain + 2 : lame + 34] == reference[radio_gain + 2 : lame + 34]
    # LAME's tag CRC covers every byte before it (not 190 of them in mono) ...
    assert reference[lame + 34 : lame + 36] == crc16(reference[: lame + 34]).to_bytes(
        2, "big"
    )
    assert ours[lame + 34 : lame + 36] == crc16(ours[: lame + 34]).to_bytes(2, "big")
    # ... and leaves the spec's CRC slot at 190 empty, which we fill
    assert reference[190:192] == bytes(2)
    assert ours[190:192] == crc16(ours[:190]).to_bytes(2, "big")
    for frames, toc in LAME_TOCS.items():
        assert lame_toc(frames) == bytes.fromhex(toc), frames


def test_info_frame_bitrate_where_lames_tag_does_not_fit() -> None:
    # LAME writes its CBR tag at the stream's bitrate, or none if it does not
    # fit; we take the lowest bitrate that holds it and the spec's CRC span.
    assert info_frame_bitrate(FORMATS["phone"]) == 64
    assert info_frame_bitrate(FORMATS["hq"]) == 128
    assert info_frame_bitrate(FORMATS["small"]) == 64  # 130 bytes at 40 kbps
    assert info_frame_size(FORMATS["small"]) == 208
    tiny = Mp3Format(8000, 1, 8)
    assert info_frame_bitrate(tiny) == 24 and info_frame_size(tiny) == 216
    # a frame that holds LAME's tag but not the spec's span keeps LAME's layout
    snug = Mp3Format(22050, 1, 56)
    assert info_frame_bitrate(snug) == 56
    frame = info_frame(
        snug, total_frames=10, audio_bytes=2000, enc_delay=576, enc_padding=600
    )
    assert len(frame) == 182
    assert frame[-13:] == bytes(13)
    assert frame[167:169] == crc16(frame[:167]).to_bytes(2, "big")


# --- an independent reader: eyeD3 -------------------------------------------


@contextmanager
def _eyed3_log() -> Iterator[list[logging.LogRecord]]:
    """Collect everything eyeD3 logs, from debug up, whatever its propagation."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("eyed3")
    handler = Keep(logging.DEBUG)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def eyed3_read(path: Path) -> tuple[Any, list[str], list[str]]:
    """Return eyeD3's audio file for ``path``, its log messages and warnings."""
    with _eyed3_log() as records:
        audio = eyed3.load(path)
    assert audio is not None
    messages = [r.getMessage() for r in records]
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    return audio, messages, warnings


def eyed3_lame(path: Path) -> Any:
    """Return eyeD3's view of ``path``, failing unless its LAME tag is sound.

    eyeD3 logs "Lame tag CRC check failed" as a mere warning; here any
    warning fails, and so does the absence of its "CRC OK" and "TOC present".
    """
    audio, messages, warnings = eyed3_read(path)
    assert warnings == []
    assert "Lame tag CRC OK" in messages
    assert any(m.endswith("Info' TOC (100 bytes): PRESENT") for m in messages)
    return audio


def test_eyed3_reads_a_valid_lame_tag(episode: Episode) -> None:
    fmt = episode.fmt
    info = eyed3_lame(episode.path).info
    xing = info.xing_header
    assert xing is not None and not xing.vbr  # an Info (CBR) header
    assert xing.numFrames == episode.result.total_frames
    assert xing.numBytes == episode.result.audio_bytes
    assert isinstance(xing.toc, bytes) and len(xing.toc) == 100
    assert xing.toc == lame_toc(episode.result.total_frames)
    tag = info.lame_tag
    assert tag["encoder_version"] == "LAME3.100"
    assert tag["vbr_method"] == "Constant Bitrate"
    assert tag["bitrate"] == (fmt.bitrate_kbps, "Constant")
    assert tag["preset"] == f"CBR {fmt.bitrate_kbps}"
    assert tag["stereo_mode"] == ("Mono" if fmt.channels == 1 else "Joint")
    last = episode.segments[-1]
    fs = frame_samples(fmt)
    assert tag["encoder_delay"] == 576
    assert tag["encoder_padding"] == last.frames * fs - 576 - last.samples
    assert tag["music_length"] == episode.result.audio_bytes
    audio = episode.path.read_bytes()[
        episode.result.audio_offset + info_frame_size(fmt) :
    ]
    assert tag["music_crc"] == LameHeader._crc16(tag, audio)  # eyeD3's own CRC
    assert "replaygain" not in tag  # not measured, so not claimed
    if info_frame_bitrate(fmt) == fmt.bitrate_kbps:
        # eyeD3 times a CBR file by its first frame's size: right here, while
        # a raised Info frame bitrate (small) shortens its estimate
        decoded_s = episode.result.duration_samples / fmt.sample_rate
        assert info.time_secs == pytest.approx(decoded_s, abs=0.1)


def test_a_damaged_info_frame_is_caught(episode: Episode, tmp_path: Path) -> None:
    """The reader checks above can fail: one flipped TOC byte, one audio byte."""
    fmt = episode.fmt
    offset = episode.result.audio_offset
    start = offset + 4 + SIDE_INFO[(fmt.mpeg_version, fmt.channels)]
    broken = tmp_path / "broken.mp3"
    shutil.copy(episode.path, broken)
    data = bytearray(broken.read_bytes())
    data[start + 16 + 50] ^= 0x01  # TOC entry 50
    broken.write_bytes(bytes(data))
    _, messages, warnings = eyed3_read(broken)
    assert "Lame tag CRC check failed" in warnings
    assert "Lame tag CRC OK" not in messages
    done = _ffmpeg("-i", str(broken))
    assert not re.search(r"encoder\s*:\s*LAME3\.100", done.stderr)
    # an audio byte changed after the tag: the music CRC no longer matches
    data[start + 16 + 50] ^= 0x01
    data[-100] ^= 0x01
    broken.write_bytes(bytes(data))
    info = eyed3_lame(broken).info
    after_info = bytes(data[offset + info_frame_size(fmt) :])
    assert info.lame_tag["music_crc"] != LameHeader._crc16(info.lame_tag, after_info)


# --- editing one segment --------------------------------------------------


def test_replacing_one_segment_keeps_the_others_in_place(
    episode: Episode, tmp_path: Path
) -> None:
    fmt = episode.fmt
    pcm, _ = _tone_segment(fmt, 0)
    longer = pcm + bytes(len(pcm) // 2 // (2 * fmt.channels) * 2 * fmt.channels)
    edited = encode_segment([longer], fmt, tmp_path / "edited.mp3")
    segments = (episode.segments[0], edited, episode.segments[2])
    path = tmp_path / "edited-episode.mp3"
    with path.open("wb") as out:
        result = splice(segments, fmt, out)
    assert result.segment_starts[:2] == episode.result.segment_starts[:2]
    assert result == plan_splice(segments, fmt)
    assert decoded_sample_count(path) == result.duration_samples
    original = episode.path.read_bytes()[episode.result.audio_offset :]
    fresh = path.read_bytes()
    frame_size = info_frame_size(fmt)
    first = episode.segments[0].size_bytes
    assert (
        fresh[frame_size : frame_size + first]
        == original[frame_size : frame_size + first]
    )


# --- damage and bad input -------------------------------------------------


def test_scan_frames_rejects_damage(episode: Episode) -> None:
    data = episode.segments[0].path.read_bytes()
    offsets = scan_frames(data, episode.fmt)
    assert len(offsets) == episode.segments[0].frames
    with pytest.raises(AudioError, match="truncated"):
        scan_frames(data[:-10])
    with pytest.raises(AudioError, match="no valid MP3 frame header"):
        corrupt = bytearray(data)
        corrupt[offsets[3]] = 0x00
        scan_frames(bytes(corrupt))
    with pytest.raises(AudioError, match="does not start"):
        scan_frames(b"junk" + data)
    with pytest.raises(AudioError, match="empty"):
        scan_frames(b"")
    other = FORMATS["small"] if episode.fmt != FORMATS["small"] else FORMATS["phone"]
    with pytest.raises(AudioError, match="re-encode"):
        scan_frames(data, other)


def test_read_segment_and_splice_refuse_a_changed_file(
    episode: Episode, tmp_path: Path
) -> None:
    segment = episode.segments[1]
    assert read_segment(segment.path, episode.fmt, segment.samples) == segment
    copy = tmp_path / "copy.mp3"
    copy.write_bytes(segment.path.read_bytes()[:-100])
    with pytest.raises(AudioError, match="truncated"):
        read_segment(copy, episode.fmt, segment.samples)
    with pytest.raises(AudioError, match="does not belong"):
        read_segment(segment.path, episode.fmt, segment.samples * 3)
    changed = EncodedSegment(copy, segment.frames, segment.samples, segment.size_bytes)
    with (
        (tmp_path / "out.mp3").open("wb") as out,
        pytest.raises(AudioError, match="changed since"),
    ):
        splice([changed], episode.fmt, out)


def test_encode_rejects_bad_pcm_and_leaves_no_temp_file(tmp_path: Path) -> None:
    fmt = FORMATS["hq"]
    with pytest.raises(AudioError, match="whole"):
        encode_segment([b"\x00" * 1001], fmt, tmp_path / "odd.mp3")
    with pytest.raises(AudioError, match="no PCM"):
        encode_segment([], fmt, tmp_path / "empty.mp3")

    def failing() -> Iterator[bytes]:
        yield bytes(40_000)
        raise RuntimeError("synthesis died")

    with pytest.raises(RuntimeError, match="synthesis died"):
        encode_segment(failing(), fmt, tmp_path / "failed.mp3")
    assert list(tmp_path.iterdir()) == []


def test_encode_reports_ffmpegs_last_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho 'noise' >&2\necho 'Unknown encoder libmp3lame' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    import narrator.ffmpeg

    monkeypatch.setattr(narrator.ffmpeg, "ffmpeg_exe", lambda: str(fake))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(AudioError, match="Unknown encoder libmp3lame"):
        encode_segment(_chunks(bytes(2_000_000)), FORMATS["phone"], out_dir / "x.mp3")
    assert list(out_dir.iterdir()) == []


def test_format_and_info_frame_validation() -> None:
    with pytest.raises(ConfigError, match="sample rate"):
        Mp3Format(sample_rate=44000)
    with pytest.raises(ConfigError, match="mono or stereo"):
        Mp3Format(channels=6)
    with pytest.raises(ConfigError, match="not an MP3 bitrate"):
        Mp3Format(sample_rate=22050, bitrate_kbps=320)
    with pytest.raises(AudioError, match="12 bits"):
        info_frame(
            FORMATS["phone"],
            total_frames=10,
            audio_bytes=3000,
            enc_delay=576,
            enc_padding=5000,
        )
    with pytest.raises(AudioError, match="no audio segments"):
        plan_splice([], FORMATS["phone"])


# --- CRC-16 ---------------------------------------------------------------


def _crc16_bitwise(data: bytes, crc: int = 0) -> int:
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc16_matches_the_bitwise_definition() -> None:
    rng = np.random.default_rng(7)
    for length in (0, 1, 255, 256, 257, 5000):
        data = rng.integers(0, 256, length, dtype=np.uint8).tobytes()
        assert crc16(data) == _crc16_bitwise(data)
        assert crc16(data, 0x1234) == _crc16_bitwise(data, 0x1234)
    a = rng.integers(0, 256, 777, dtype=np.uint8).tobytes()
    b = rng.integers(0, 256, 1234, dtype=np.uint8).tobytes()
    assert crc16_combine(crc16(a), crc16(b), len(b)) == crc16(a + b)
    assert _crc16_bitwise(b"123456789") == 0xBB3D  # CRC-16/ARC check value


def test_a_segment_is_checked_in_chunks_as_it_would_be_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checking a fresh segment reads its file a chunk at a time (a segment can
    be hours long); frames straddling two reads count once, the CRC is the
    whole file's."""
    fmt = Mp3Format(44100, 1, 64)
    rng = np.random.default_rng(3)
    pcm = (rng.standard_normal(44100 * 3) * 3000).astype("<i2").tobytes()
    monkeypatch.setattr(encode, "_VALIDATE_CHUNK", 1000)  # not a frame multiple
    encoded = encode_segment(iter([pcm]), fmt, tmp_path / "s.mp3")
    whole = read_segment(tmp_path / "s.mp3", fmt, len(pcm) // 2)
    assert (encoded.frames, encoded.size_bytes, encoded.crc16) == (
        whole.frames,
        whole.size_bytes,
        whole.crc16,
    )
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes((tmp_path / "s.mp3").read_bytes()[:-100])
    with pytest.raises(AudioError):
        encode._validate_segment_file(damaged, fmt, len(pcm) // 2, name="damaged")


def test_float_pcm_encodes_what_16_bit_pcm_encodes(tmp_path: Path) -> None:
    """The build feeds LAME float32 (no rounding to 16 bits first): the segment
    holds as many samples, and decodes to the same tone, as from s16le."""
    fmt = FORMATS["phone"]
    rate = fmt.sample_rate
    t = np.arange(rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    as_float = encode_segment(
        [x.astype("<f4").tobytes()], fmt, tmp_path / "f.mp3", sample_format="f32le"
    )
    pcm16 = np.round(x * 32767).astype("<i2").tobytes()
    as_int = encode_segment([pcm16], fmt, tmp_path / "i.mp3")
    assert as_float.samples == as_int.samples == rate
    assert as_float.frames == as_int.frames
    decoded = [
        np.frombuffer(decode_file(path, rate=rate), dtype="<i2") / 32768.0
        for path in (as_float.path, as_int.path)
    ]
    assert np.max(np.abs(decoded[0] - decoded[1])) < 0.01
    with pytest.raises(AudioError, match="32-bit"):
        encode_segment([bytes(1002)], fmt, tmp_path / "odd.mp3", sample_format="f32le")
    with pytest.raises(ValueError, match="sample format"):
        encode_segment([pcm16], fmt, tmp_path / "x.mp3", sample_format="s24le")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.mp3", "i.mp3"]
