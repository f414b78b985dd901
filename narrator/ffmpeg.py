"""ffmpeg, the one external program narrator runs: decode to PCM, encode, mux MP4.

This is the only module that starts a process. Everyone else asks it for PCM
(``decode_bytes``, ``decode_file``, ``decode_many``, ``stream_pcm``) or for
MP3 frames (``encode_mp3``), AAC access units (``encode_aac``) or an MP4
file around them (``mux_mp4``), and gets an ``AudioError`` quoting ffmpeg's last
message when something fails.

The binary is the one bundled by imageio-ffmpeg; a system ffmpeg is used
only when NARRATOR_FFMPEG names it, so a build does not silently change with
whatever happens to be on PATH.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from narrator.environment import read_environment
from narrator.errors import AudioError

# Raw PCM as ffmpeg names it, and the bytes of one sample of each.
PcmFormat = Literal["s16le", "f32le"]
SAMPLE_BYTES: dict[str, int] = {"s16le": 2, "f32le": 4}

_CHUNK_BYTES = 1 << 20
_QUIET = ["-hide_banner", "-loglevel", "error"]


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg binary to use.

    Raises:
        AudioError: no ffmpeg could be found.
    """
    override = read_environment().ffmpeg
    if override:
        found = shutil.which(override)
        if not found:
            raise AudioError(
                f"NARRATOR_FFMPEG={override!r} is not an executable; fix or unset it."
            )
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a broken install
        raise AudioError(
            "imageio-ffmpeg is not installed; reinstall narrator with pip."
        ) from exc
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # pragma: no cover - a broken install
        raise AudioError(
            f"the bundled ffmpeg is missing ({exc}); reinstall imageio-ffmpeg."
        ) from exc


def _last_line(stderr: bytes) -> str:
    lines = [x.strip() for x in stderr.decode("utf-8", "replace").splitlines()]
    lines = [x for x in lines if x]
    return lines[-1] if lines else "no message"


def _pcm_out(rate: int | None, channels: int) -> list[str]:
    """Output options for raw signed 16-bit little-endian PCM."""
    rate_args = ["-ar", str(rate)] if rate is not None else []
    return ["-f", "s16le", "-acodec", "pcm_s16le", "-ac", str(channels), *rate_args]


def _run(
    args: Sequence[str], *, data: bytes | None, what: str, timeout_s: float | None
) -> bytes:
    """Run ffmpeg with ``args``, ``data`` on stdin; return its stdout.

    Raises:
        AudioError: ffmpeg cannot start, times out or fails.
    """
    command = [ffmpeg_exe(), *_QUIET, *(["-nostdin"] if data is None else []), *args]
    try:
        done = subprocess.run(
            command, input=data, capture_output=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AudioError(f"ffmpeg could not {what}: {exc}") from exc
    if done.returncode != 0:
        raise AudioError(f"ffmpeg could not {what}: {_last_line(done.stderr)}")
    return done.stdout


def decode_bytes(
    data: bytes,
    *,
    input_format: str | None,
    rate: int,
    channels: int = 1,
    timeout_s: float | None = 60.0,
) -> bytes:
    """Decode audio held in memory (``input_format`` e.g. "mp3") to s16le PCM.

    Raises:
        AudioError: ffmpeg fails, or decodes nothing.
    """
    fmt = ["-f", input_format] if input_format else []
    pcm = _run(
        [*fmt, "-i", "pipe:0", *_pcm_out(rate, channels), "pipe:1"],
        data=data,
        what="decode the audio",
        timeout_s=timeout_s,
    )
    if not pcm:
        raise AudioError("ffmpeg could not decode the audio: no output")
    return pcm[: len(pcm) - len(pcm) % (2 * channels)]


def decode_file(path: Path, *, rate: int, channels: int = 1) -> bytes:
    """Decode an audio file of any format ffmpeg reads to s16le PCM at ``rate``.

    Raises:
        AudioError: ffmpeg fails, or decodes nothing.
    """
    pcm = _run(
        ["-i", str(path), *_pcm_out(rate, channels), "pipe:1"],
        data=None,
        what=f"decode {path.name}",
        timeout_s=None,
    )
    if not pcm:
        raise AudioError(f"ffmpeg could not decode {path.name}: no output")
    return pcm


def decode_many(
    datas: Sequence[bytes],
    *,
    input_format: str,
    rate: int,
    channels: int = 1,
    timeout_s: float = 120.0,
) -> list[bytes]:
    """Decode several in-memory files with one ffmpeg process (its start-up dominates).

    Raises:
        AudioError: ffmpeg fails on one of them.
    """
    if len(datas) == 1:
        return [
            decode_bytes(
                datas[0], input_format=input_format, rate=rate, channels=channels
            )
        ]
    with tempfile.TemporaryDirectory(prefix="narrator-decode-") as tmp:
        folder = Path(tmp)
        args: list[str] = []
        for n, data in enumerate(datas):
            (folder / f"{n}.in").write_bytes(data)
            args += ["-f", input_format, "-i", str(folder / f"{n}.in")]
        for n in range(len(datas)):
            args += ["-map", f"{n}:a", *_pcm_out(rate, channels)]
            args.append(str(folder / f"{n}.raw"))
        _run(args, data=None, what="decode the audio", timeout_s=timeout_s)
        return [(folder / f"{n}.raw").read_bytes() for n in range(len(datas))]


def stream_pcm(path: Path, *, channels: int = 1) -> Iterator[bytes]:
    """Yield the gapless decoded audio of ``path`` as s16le chunks, streaming.

    Raises:
        AudioError: ffmpeg fails to decode the file.
    """
    command = [
        ffmpeg_exe(),
        *_QUIET,
        "-nostdin",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        *_pcm_out(None, channels),
        "pipe:1",
    ]
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        except OSError as exc:
            raise AudioError(f"cannot run ffmpeg ({command[0]}): {exc}") from exc
        stdout = proc.stdout
        if stdout is None:  # pragma: no cover - Popen(stdout=PIPE) guarantees it
            raise AudioError("ffmpeg started without a stdout pipe.")
        try:
            while chunk := stdout.read(_CHUNK_BYTES):
                yield chunk
        finally:
            stdout.close()
            returncode = proc.wait()
        if returncode != 0:
            errors.seek(0)
            raise AudioError(
                f"ffmpeg cannot decode {path}: {_last_line(errors.read())}"
            )


def encode_mp3(
    pcm_chunks: Iterable[bytes],
    out_path: Path,
    *,
    sample_rate: int,
    channels: int,
    bitrate_kbps: int,
    sample_format: PcmFormat = "s16le",
) -> int:
    """Encode streamed PCM to raw CBR MP3 frames (no tag, no Xing frame).

    ``sample_format`` is ffmpeg's name of the raw PCM: ``s16le`` or ``f32le``.
    Returns the number of PCM bytes fed (see ``_encode_stream``).

    Raises:
        AudioError: ffmpeg cannot start or fails (its last message is quoted).
    """
    output = [
        *("-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k"),
        *("-write_xing", "0", "-id3v2_version", "0"),
        *("-f", "mp3", "-y", str(out_path)),
    ]
    return _encode_stream(
        pcm_chunks, output, (sample_format, sample_rate, channels), "MP3"
    )


def encode_aac(
    pcm_chunks: Iterable[bytes],
    out_path: Path,
    *,
    sample_rate: int,
    channels: int,
    bitrate_kbps: int,
    sample_format: PcmFormat = "f32le",
    coder: str = "twoloop",
) -> int:
    """Encode streamed PCM to AAC-LC access units in ADTS (ffmpeg's native ``aac``).

    ``coder`` is the native encoder's ``aac_coder``: ``twoloop`` (its
    default) or ``fast``; the caller chooses by bitrate.

    ADTS, not MP4: each access unit carries its own 7-byte header with its
    length, so the container can cut and join segments at access units
    without a demuxer; ffmpeg's encoder puts one access unit (1024 samples)
    of priming before the input. Returns the number of PCM bytes fed.

    Raises:
        AudioError: ffmpeg cannot start or fails (its last message is quoted).
    """
    output = [
        *("-c:a", "aac", "-profile:a", "aac_low", "-aac_coder", coder),
        *("-b:a", f"{bitrate_kbps}k"),
        *("-f", "adts", "-y", str(out_path)),
    ]
    return _encode_stream(
        pcm_chunks, output, (sample_format, sample_rate, channels), "AAC"
    )


def mux_mp4(
    adts_path: Path, metadata_path: Path, out_path: Path, *, sample_rate: int
) -> None:
    """Put ADTS access units, copied, in an MP4 with the chapters of an ffmetadata file.

    The ``ipod`` muxer writes both MP4 chapter formats from the ffmetadata
    chapters: a QuickTime text track referenced by ``tref/chap`` and Nero's
    ``moov/udta/chpl``. The movie timescale is the sample rate, so durations
    in ``mvhd``, ``tkhd`` and ``elst`` are exact in samples; ``moov`` stays at
    the end of the file, after ``mdat``, so the container can rewrite it
    without moving the audio.

    Raises:
        AudioError: ffmpeg fails (its last message is quoted).
    """
    _run(
        [
            *("-f", "aac", "-i", str(adts_path)),
            *("-f", "ffmetadata", "-i", str(metadata_path)),
            *("-map", "0:a", "-map_metadata", "1", "-map_chapters", "1"),
            *("-c", "copy", "-use_editlist", "1"),
            *("-movie_timescale", str(sample_rate)),
            *("-f", "ipod", "-y", str(out_path)),
        ],
        data=None,
        what="write the MP4 file",
        timeout_s=None,
    )


def _encode_stream(
    pcm_chunks: Iterable[bytes],
    output: Sequence[str],
    pcm: tuple[PcmFormat, int, int],
    codec: str,
) -> int:
    """Run one encoder fed ``pcm_chunks`` on stdin; return the PCM bytes fed.

    The chunks are fed to ffmpeg's stdin as they come, so memory stays
    bounded by a chunk; stderr goes to a temporary file, so ffmpeg can never
    block on a full pipe while this thread blocks writing its stdin.

    Raises:
        AudioError: ffmpeg cannot start or fails (its last message is quoted).
    """
    sample_format, sample_rate, channels = pcm
    command = [
        ffmpeg_exe(),
        *_QUIET,
        "-nostdin",
        *("-f", sample_format, "-ar", str(sample_rate), "-ac", str(channels)),
        *("-i", "pipe:0", "-map_metadata", "-1"),
        *output,
    ]
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
            )
        except OSError as exc:
            raise AudioError(f"cannot run ffmpeg ({command[0]}): {exc}") from exc
        try:
            fed, broken = _feed(proc, pcm_chunks)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        returncode = proc.wait()
        if returncode != 0 or broken:
            errors.seek(0)
            raise AudioError(
                f"ffmpeg failed to encode {codec} (exit {returncode}): "
                f"{_last_line(errors.read())}"
            )
    return fed


def _feed(proc: subprocess.Popen[bytes], chunks: Iterable[bytes]) -> tuple[int, bool]:
    """Write ``chunks`` to the process's stdin; return (bytes fed, pipe broke)."""
    stdin = proc.stdin
    if stdin is None:  # pragma: no cover - Popen(stdin=PIPE) guarantees it
        raise AudioError("ffmpeg started without a stdin pipe.")
    fed = 0
    broken = False
    try:
        for chunk in chunks:
            fed += len(chunk)
            stdin.write(chunk)
    except BrokenPipeError:
        broken = True  # ffmpeg died; its stderr says why
    finally:
        try:
            stdin.close()
        except BrokenPipeError:
            broken = True
    return fed, broken
