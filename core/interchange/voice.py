"""Offline synthetic voices for the scratch voice track: eSpeak NG through its C library.

The library and its voice data come from the PyPI package `espeakng-loader` (libespeak-ng
1.52 and espeak-ng-data in the wheel), so nothing is installed system-wide and nothing is
fetched at run time. We call it through ctypes in synchronous mode: `espeak_Synth` returns
once the whole text is spoken and the samples came through our callback.

libespeak-ng keeps one global state per process (voice, rate, pitch, callback), so every
synthesis holds `EspeakVoice._lock` from setting the voice to the last sample. It also keeps
state across utterances that we cannot reset: the same line spoken twice in a row differs by
a few milliseconds (measured: 111,894 to 112,127 samples for one sentence, also after
espeak_Terminate and a new espeak_Initialize). Shot timing depends on line lengths, so each
(line, voice) is spoken once per process and kept (`_cache`, at most `CACHE_SAMPLES` samples):
the animatic, the storyboard PDF and the exports made in one studio then agree exactly.

A character's voice is a `VoiceSettings`: an eSpeak language voice ("en", "en-us", "fr"...),
a variant (eSpeak's voices/!v: "m3", "f2", "klatt", "whisper"...), a pitch (0-99, eSpeak's
scale, 50 is the voice's normal) and a speed in words per minute (80-450). `default_voice`
gives every name a stable voice of its own, so a cast sounds different without any setup.
"""

from __future__ import annotations

import ctypes
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# espeak_AUDIO_OUTPUT: AUDIO_OUTPUT_SYNCHRONOUS returns samples through the callback, no sound device.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_ESPEAK_OK = 0
MIN_SPEED, MAX_SPEED = 80, 450
MIN_PITCH, MAX_PITCH = 0, 99
# Spoken lines kept per process (int16 samples in all: about 40 MB).
CACHE_SAMPLES = 20_000_000
# A spoken line longer than this is refused: the model's shots last at most a minute.
MAX_LINE_CHARACTERS = 2_000
# Variants that sound like a person (the others are robots, whispers and effects); defaults
# cycle through them.
_PERSON_VARIANTS = ("m1", "f1", "m3", "f2", "m2", "f3", "m4", "f4", "m5", "f5", "m6", "m7")
LANGUAGES = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "fr", "de", "es", "it", "pt", "nl")


@dataclass(frozen=True)
class VoiceSettings:
    voice: str = "en"
    variant: str = "m1"
    pitch: int = 50
    speed: int = 165

    def __post_init__(self) -> None:
        if not MIN_PITCH <= self.pitch <= MAX_PITCH:
            raise ValueError(
                f"The pitch is {self.pitch}; give a pitch from {MIN_PITCH} to {MAX_PITCH} (50 is normal)."
            )
        if not MIN_SPEED <= self.speed <= MAX_SPEED:
            raise ValueError(
                f"The speed is {self.speed} words per minute; give {MIN_SPEED} to {MAX_SPEED} (165 is normal)."
            )
        for value, what in ((self.voice, "voice"), (self.variant, "variant")):
            if not value or not all(ch.isalnum() or ch in "-_" for ch in value):
                raise ValueError(
                    f"The {what} {value!r} is not an eSpeak NG {what} name; pick one from the list."
                )

    @property
    def name(self) -> str:
        """eSpeak's name for the voice with its variant, e.g. "en+f2"."""
        return f"{self.voice}+{self.variant}" if self.variant else self.voice


def default_voice(name: str) -> VoiceSettings:
    """A stable voice for a character called `name`: a person variant and a pitch picked by the
    name's checksum, so two characters rarely sound alike and a voice never changes by itself."""
    digest = zlib.crc32(name.casefold().encode("utf-8"))
    variant = _PERSON_VARIANTS[digest % len(_PERSON_VARIANTS)]
    return VoiceSettings(
        voice="en", variant=variant, pitch=35 + (digest >> 8) % 31, speed=160 + (digest >> 16) % 21
    )


def _data_folder() -> Path:
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


def variants() -> list[str]:
    """The variant names eSpeak NG offers here (voices/!v of its data folder)."""
    return sorted(path.name for path in (_data_folder() / "voices" / "!v").iterdir() if path.is_file())


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakVoice:
    """Speaks text with eSpeak NG; `speak(text, settings)` -> (float32 mono samples in [-1, 1], rate)."""

    _lock = threading.Lock()  # guards the library's process-wide state, see the module docstring
    _library: ctypes.CDLL | None = None
    _sample_rate = 0
    # (text, settings) -> int16 samples, oldest first (see the module docstring)
    _cache: OrderedDict[tuple[str, VoiceSettings], np.ndarray] = OrderedDict()
    _cached_samples = 0

    def __init__(self) -> None:
        self._chunks: list[np.ndarray] = []
        self._callback = _SynthCallback(self._collect)

    @classmethod
    def _load(cls) -> ctypes.CDLL:
        if cls._library is None:
            import espeakng_loader

            library = ctypes.CDLL(espeakng_loader.get_library_path())
            library.espeak_Initialize.restype = ctypes.c_int
            library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            library.espeak_SetSynthCallback.argtypes = [_SynthCallback]
            library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            library.espeak_Synth.argtypes = [
                ctypes.c_void_p,
                ctypes.c_size_t,
                ctypes.c_uint,
                ctypes.c_int,
                ctypes.c_uint,
                ctypes.c_uint,
                ctypes.c_void_p,
                ctypes.c_void_p,
            ]
            rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(_data_folder()).encode(), 0)
            if rate <= 0:
                raise RuntimeError(
                    "eSpeak NG could not start (its voice data was not found); reinstall the "
                    "espeakng-loader package with scripts/install.sh."
                )
            cls._library, cls._sample_rate = library, rate
        return cls._library

    @property
    def sample_rate(self) -> int:
        with self._lock:
            self._load()
            return self._sample_rate

    def _collect(self, samples, count, events) -> int:
        if samples and count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0  # 0: go on synthesising

    def speak(self, text: str, settings: VoiceSettings = VoiceSettings()) -> tuple[np.ndarray, int]:
        text = " ".join(text.split())
        if not text:
            raise ValueError("There is nothing to say; a spoken line needs words.")
        if len(text) > MAX_LINE_CHARACTERS:
            raise ValueError(
                f"A spoken line may have at most {MAX_LINE_CHARACTERS:,} characters; shorten it."
            )
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            library = self._load()
            cached = self._cache.get((text, settings))
            if cached is not None:
                self._cache.move_to_end((text, settings))
                return cached.astype(np.float32) / 32768.0, self._sample_rate
            library.espeak_SetSynthCallback(self._callback)
            if library.espeak_SetVoiceByName(settings.name.encode()) != _ESPEAK_OK:
                raise ValueError(
                    f"eSpeak NG has no voice {settings.name!r}; pick a language from {', '.join(LANGUAGES)} "
                    "and a variant from the list."
                )
            library.espeak_SetParameter(_ESPEAK_RATE, settings.speed, 0)
            library.espeak_SetParameter(_ESPEAK_PITCH, settings.pitch, 0)
            self._chunks = []
            buffer = ctypes.create_string_buffer(data)
            status = library.espeak_Synth(
                buffer, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None
            )
            if status != _ESPEAK_OK:
                raise RuntimeError(f"eSpeak NG failed to speak the line (error {status}).")
            chunks, self._chunks = self._chunks, []
            rate = self._sample_rate
            samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
            self._remember((text, settings), samples)
        return samples.astype(np.float32) / 32768.0, rate

    @classmethod
    def _remember(cls, key: tuple[str, VoiceSettings], samples: np.ndarray) -> None:
        cls._cache[key] = samples
        cls._cached_samples += len(samples)
        while cls._cached_samples > CACHE_SAMPLES and len(cls._cache) > 1:
            _, dropped = cls._cache.popitem(last=False)
            cls._cached_samples -= len(dropped)
