"""The hall board's voice: "请 A012 号到 3 号窗口办理" (and in English when configured).

Three ways to speak, tried in order: QtTextToSpeech with a Mandarin voice (chosen by name:
speech-dispatcher refuses setLocale(zh_CN)), the ``espeak-ng -v cmn`` command, or nothing, with
one log line saying why. Announcements never overlap: each waits for the one before it. A
named engine ([queue] tts_engine, e.g. ``mock`` in tests) is used even without a Mandarin voice.
"""

from __future__ import annotations

import logging
import shutil
from collections import deque

from PySide6.QtCore import QObject, QProcess, Signal

from kiosk import queue as q

log = logging.getLogger(__name__)

MANDARIN_HINTS = ("mandarin", "chinese", "cmn", "zh")


def _is_mandarin(voice) -> bool:  # noqa: ANN001 (QVoice)
    name = voice.name().lower()
    locale = voice.locale().name().lower()
    return locale.startswith("zh") or any(h in name for h in MANDARIN_HINTS[:3])


class Announcer(QObject):
    """Speaks calls; ``backend`` says how ("qt:<engine>", "espeak" or "silent")."""

    spoken = Signal(str)  # every sentence handed to the engine, for the log and the tests

    def __init__(self, engine: str = "", english: bool = False,
                 espeak_args: list[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.english = english
        self.espeak_args = espeak_args or []
        self.tts = None
        self.voices: dict[str, object] = {}
        self._pending: deque[tuple[str, str]] = deque()
        self._process: QProcess | None = None
        self.backend = "silent"
        self.espeak: str | None = None
        if engine == "none":
            log.info("announcements are off ([queue] tts_engine = \"none\")")
            return
        if self._try_qt(engine):
            return
        self.espeak = shutil.which("espeak-ng")
        if self.espeak:
            self.backend = "espeak"
            log.info("announcements by espeak-ng (no QtTextToSpeech Mandarin voice)")
            return
        log.warning("announcements are silent: no QtTextToSpeech engine with a Mandarin voice "
                    "and no espeak-ng (apt install espeak-ng, or speech-dispatcher)")

    @classmethod
    def for_config(cls, config) -> Announcer:  # noqa: ANN001 (kiosk.config.Config)
        return cls(config.queue.tts_engine, config.queue.announce_en)

    def _try_qt(self, engine: str) -> bool:
        try:
            from PySide6.QtTextToSpeech import QTextToSpeech
        except ImportError as exc:  # e.g. libpulse0 missing
            log.info("QtTextToSpeech unavailable: %s", exc)
            return False
        engines = [engine] if engine else [e for e in QTextToSpeech.availableEngines()
                                           if e != "mock"]
        for name in engines:
            if name not in QTextToSpeech.availableEngines():
                log.warning("text-to-speech engine %r is not installed", name)
                continue
            tts = QTextToSpeech(name, self)
            if tts.state() == QTextToSpeech.State.Error:
                log.info("text-to-speech engine %s failed: %s", name, tts.errorString())
                continue
            voices = tts.availableVoices()
            mandarin = next((v for v in voices if _is_mandarin(v)), None)
            if mandarin is None and not engine:
                log.info("text-to-speech engine %s has no Mandarin voice", name)
                continue
            self.voices["zh"] = mandarin
            self.voices["en"] = next((v for v in voices
                                      if v.locale().name().startswith("en")), None)
            self.tts = tts
            self.backend = f"qt:{name}"
            tts.stateChanged.connect(self._qt_state)
            log.info("announcements by QtTextToSpeech %s, voice %s", name,
                     mandarin.name() if mandarin is not None else "(default)")
            return True
        return False

    def announce(self, number: str, window: int) -> None:
        """Say the call (Mandarin, then English when configured), after any still speaking."""
        self._pending.append(("zh", q.announcement(number, window, "zh-Hans")))
        if self.english:
            self._pending.append(("en", q.announcement(number, window, "en")))
        if not self.busy:
            self._next()

    @property
    def busy(self) -> bool:
        if self.tts is not None:
            from PySide6.QtTextToSpeech import QTextToSpeech

            return self.tts.state() == QTextToSpeech.State.Speaking
        return self._process is not None

    def _next(self) -> None:
        if not self._pending:
            return
        lang, text = self._pending.popleft()
        self.spoken.emit(text)
        if self.backend == "silent":
            self._pending.clear()
            return
        if self.tts is not None:
            voice = self.voices.get(lang)
            if voice is not None:
                self.tts.setVoice(voice)
            self.tts.say(text)
            return
        self._process = QProcess(self)
        self._process.finished.connect(self._process_done)
        self._process.errorOccurred.connect(self._process_error)
        self._process.start(self.espeak, ["-v", "cmn" if lang == "zh" else "en",
                                          *self.espeak_args, text])

    def _qt_state(self, state) -> None:  # noqa: ANN001 (QTextToSpeech.State)
        from PySide6.QtTextToSpeech import QTextToSpeech

        if state in (QTextToSpeech.State.Ready, QTextToSpeech.State.Error):
            self._next()

    def _process_done(self, *_args: object) -> None:
        self._process = None
        self._next()

    def _process_error(self, error) -> None:  # noqa: ANN001
        log.warning("espeak-ng failed: %s", error)
        if self._process is not None and self._process.state() == QProcess.ProcessState.NotRunning:
            self._process = None
            self._next()

    def wait_idle(self, timeout_ms: int = 10_000) -> None:
        """Block until espeak-ng finished what it was given (tests and shutdown)."""
        while self._process is not None:
            if not self._process.waitForFinished(timeout_ms):
                break
