"""Document capture through the terminal's camera (QtMultimedia): live preview, then a still.

The still is handed to kiosk.devices.capture as JPEG bytes, which normalises and stores it by
SHA-256 like any other page, so the rest of the kiosk cannot tell a camera page from a scanned
or imported one. A machine without a camera (QMediaDevices lists none) gets ``failed`` with the
ui.json message "this terminal has no camera" instead of a blank preview.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from kiosk.devices.capture import BlobStore, CaptureError, PageOptions, store_pages
from kiosk.i18n import tr

log = logging.getLogger(__name__)


def cameras() -> list[str]:
    """Descriptions of the cameras Qt can see (empty on a machine without one)."""
    from PySide6.QtMultimedia import QMediaDevices

    return [d.description() for d in QMediaDevices.videoInputs()]


class CameraCapture(QObject):
    """One camera session: ``start(preview)``, ``capture()``, ``stop()``."""

    captured = Signal(list)  # [kiosk.devices.capture.Page]
    failed = Signal(str)  # a message for the visitor

    def __init__(self, store: BlobStore, options: PageOptions, lang: str,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store, self.options, self.lang = store, options, lang
        self._camera = None
        self._session = None
        self._still = None

    def start(self, preview: QWidget | None = None) -> bool:
        """Open the first camera and show it in ``preview`` (a QVideoWidget). False, with
        ``failed`` emitted, when there is no camera."""
        from PySide6.QtMultimedia import QCamera, QImageCapture, QMediaCaptureSession, QMediaDevices

        inputs = QMediaDevices.videoInputs()
        if not inputs:
            self.failed.emit(tr("capture.no_camera", self.lang))
            return False
        self._camera = QCamera(inputs[0])
        self._session = QMediaCaptureSession()
        self._still = QImageCapture()
        self._session.setCamera(self._camera)
        self._session.setImageCapture(self._still)
        if preview is not None:
            self._session.setVideoOutput(preview)
        self._still.imageCaptured.connect(self._on_image)
        self._still.errorOccurred.connect(lambda _id, _err, text: self._fail(text))
        self._camera.errorOccurred.connect(lambda _err, text: self._fail(text))
        self._camera.start()
        return True

    def capture(self) -> None:
        """Take a still; ``captured`` follows when it is stored."""
        if self._still is None or not self._still.isReadyForCapture():
            self._fail("camera not ready")
            return
        self._still.capture()

    def _on_image(self, _id: int, image: QImage) -> None:
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "JPEG", 95)  # full quality here; normalise() sets the stored one
        try:
            pages = store_pages([bytes(data.data())], self.store, self.options)
        except CaptureError as exc:
            self._fail(str(exc))
            return
        self.captured.emit(pages)

    def _fail(self, detail: str) -> None:
        log.warning("camera capture failed: %s", detail)
        self.failed.emit(tr("capture.failed", self.lang))

    def stop(self) -> None:
        if self._camera is not None:
            self._camera.stop()
        self._camera = self._session = self._still = None
