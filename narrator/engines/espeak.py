"""espeak-ng, in-process, from the library and voice data espeakng-loader bundles.

No executable and no system package: the shared library is loaded with ctypes.
libespeak-ng keeps global state (one voice, one callback), so every call into
it is serialized by a module lock; the pipeline overlaps synthesis of one
section with mastering and encoding of others instead.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from narrator.engines.base import SectionRef
from narrator.errors import EngineError, EngineUnavailable, InputError
from narrator.model import Audio

PROFILE = "espeak"  # French normalization profile (narrator.speech)
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
_ESPEAK_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH = 1, 2, 3

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


class _Library:
    """The loaded libespeak-ng, initialized once per process."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:
            raise EngineUnavailable(
                "espeak: espeakng-loader is not installed; reinstall narrator with pip."
            ) from exc
        try:
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_dir = Path(espeakng_loader.get_data_path())
        except (OSError, RuntimeError) as exc:
            raise EngineUnavailable(f"espeak: cannot load libespeak-ng: {exc}") from exc
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Info.restype = ctypes.c_char_p
        # espeak_Initialize wants the directory that *contains* espeak-ng-data.
        rate = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS,
            0,
            str(data_dir.parent).encode(),
            _ESPEAK_INITIALIZE_DONT_EXIT,
        )
        if rate <= 0:
            raise EngineUnavailable("espeak: libespeak-ng failed to initialize.")
        self.sample_rate = rate
        self.version = (self.lib.espeak_Info(None) or b"unknown").decode()
        self._chunks: list[bytes] = []
        self._callback = _CALLBACK(self._on_audio)  # keep a reference alive
        self.lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None

    def _on_audio(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, events: int | None
    ) -> int:
        if wav and count > 0:
            self._chunks.append(ctypes.string_at(wav, count * 2))
        return 0

    def set_voice(self, voice: str) -> None:
        if self.voice == voice:
            return
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            # Names like "fr-fr" are languages, not voice files: ask by properties.
            spec = _Voice(name=None, languages=voice.encode(), identifier=None)
            if self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec)) != 0:
                raise InputError(f"espeak: unknown voice {voice!r}; try 'fr'.")
        self.voice = voice

    def synth(self, text: str, *, rate: int, pitch: int) -> bytes:
        self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        self.lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
        self.lib.espeak_SetParameter(_PARAM_VOLUME, 100, 0)
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        err = self.lib.espeak_Synth(
            data, len(data), 0, 0, 0, _ESPEAK_CHARS_UTF8, None, None
        )
        self.lib.espeak_Synchronize()
        if err != 0:
            raise EngineError(f"synthesis failed (error {err}).", engine="espeak")
        pcm = b"".join(self._chunks)
        self._chunks = []
        return pcm


_lock = threading.Lock()
_library: _Library | None = None


def _get_library() -> _Library:
    global _library
    if _library is None:
        _library = _Library()
    return _library


def voice_version(voice: str) -> str:
    """Check that libespeak-ng has ``voice``; return the library's version.

    Raises:
        EngineUnavailable: libespeak-ng cannot be loaded.
        InputError: no such voice.
    """
    with _lock:
        library = _get_library()
        library.set_voice(voice)
        return library.version


_PHONEMES_IPA = 0x02  # espeak_TextToPhonemes phonememode: IPA


def text_to_phonemes(text: str, voice: str) -> list[tuple[str, bytes]]:
    """espeak-ng's IPA phonemes of ``text``, clause by clause.

    Each item is (phonemes, the UTF-8 bytes of ``text`` that clause consumed),
    so a caller can recover the punctuation that ended it. This is the
    phonemizer Piper voices are trained on; libespeak-ng keeps global state,
    so the call holds the module lock for this one text.

    Raises:
        EngineUnavailable: libespeak-ng cannot be loaded.
        InputError: no such voice.
    """
    data = text.encode("utf-8") + b"\0"
    raw: list[tuple[str, bytes]] = []
    with _lock:
        library = _get_library()
        library.set_voice(voice)
        fn = library.lib.espeak_TextToPhonemes
        fn.restype = ctypes.c_char_p
        fn.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
        buf = ctypes.create_string_buffer(data, len(data))
        start = ctypes.addressof(buf)
        pointer = ctypes.c_void_p(start)
        end = len(data) - 1
        while pointer.value:
            before = pointer.value
            out = fn(ctypes.byref(pointer), _ESPEAK_CHARS_UTF8, _PHONEMES_IPA)
            after = pointer.value
            consumed = buf.raw[before - start : (after - start) if after else end]
            raw.append(((out or b"").decode("utf-8", "replace"), consumed))
            if after is not None and after <= before:  # never loop forever
                break
    return raw


class EspeakEngine:
    """French speech from libespeak-ng: offline, fast, robotic but clear."""

    name = "espeak"
    local = True
    profile = PROFILE

    def __init__(self, voice: str = "fr", rate_wpm: int = 165, pitch: int = 50):
        if not 80 <= rate_wpm <= 450:
            raise InputError(
                f"espeak: rate {rate_wpm} is out of range; use 80-450 words/min."
            )
        if not 0 <= pitch <= 99:
            raise InputError(f"espeak: pitch {pitch} is out of range; use 0-99.")
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.pitch = pitch
        with _lock:
            lib = _get_library()
            lib.set_voice(voice)  # fail now, before any section runs
            self.version = lib.version
            self.sample_rate = lib.sample_rate

    def identity(self) -> Mapping[str, str]:
        return {
            "engine": "espeak-ng",
            "version": self.version,
            "voice": self.voice,
            "rate": str(self.rate_wpm),
            "pitch": str(self.pitch),
        }

    def probe(self) -> bool:
        """The library loaded in ``__init__``: nothing more to check."""
        return True

    def synthesize(
        self, texts: Sequence[str], *, section: SectionRef | None = None
    ) -> list[Audio]:
        """One WAV per text; calls into the library are serialized (global state).

        Raises:
            EngineError: libespeak-ng reported an error.
        """
        out = []
        with _lock:
            lib = _get_library()
            lib.set_voice(self.voice)
            for text in texts:
                pcm = lib.synth(text, rate=self.rate_wpm, pitch=self.pitch)
                out.append(Audio.from_pcm(pcm, self.sample_rate))
        return out


def create(options: Mapping[str, str]) -> EspeakEngine:
    """Build the espeak engine from string options (voice, rate, pitch).

    Raises:
        EngineUnavailable: libespeak-ng cannot be loaded.
        InputError: an option value is invalid.
    """
    try:
        rate = int(options.get("rate", "165"))
        pitch = int(options.get("pitch", "50"))
    except ValueError as exc:
        raise InputError(f"espeak: rate and pitch must be integers ({exc}).") from exc
    return EspeakEngine(voice=options.get("voice") or "fr", rate_wpm=rate, pitch=pitch)
