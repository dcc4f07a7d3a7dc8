"""Document capture: pages from image files, SANE scanners or the camera, normalised and stored.

Every source returns raw image bytes (whatever the device gives: JPEG, PNG, TIFF). ``normalise``
turns each into the one format the rest of the kiosk handles: upright (EXIF orientation
applied), RGB, longest side capped, JPEG at a set quality, metadata dropped (a phone photo's GPS
position has no business in a government file). Pages are stored by the SHA-256 of those bytes
under the blobs directory, which is also how the platform addresses them (PUT /v1/blobs/{sha}).

Sources: ``FileImport`` (tests, demo, an admin importing a file), ``SaneScanner`` (the
``scanimage`` command, when installed) and the camera, which needs Qt and so lives in
kiosk.ui.camera_capture, handing its frames to ``store_pages`` here.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from kiosk import atrest, crypto
from kiosk.crypto import KeyRing
from kiosk.devices import DeviceError, DeviceState

# Decompression bombs: no real page is more than ~100 megapixels (A3 at 600 dpi is 70).
Image.MAX_IMAGE_PIXELS = 120_000_000


class CaptureError(DeviceError):
    """No page could be taken: nothing scanned, an unreadable image, a missing device."""

    visitor_key = "capture.failed"


@dataclass(frozen=True)
class PageOptions:
    max_side: int = 2480
    jpeg_quality: int = 85


@dataclass(frozen=True)
class Page:
    """A stored, normalised page."""

    sha256: str
    path: Path
    width: int
    height: int
    size: int


def normalise(data: bytes, options: PageOptions = PageOptions()) -> tuple[bytes, int, int]:
    """Raw image bytes -> (JPEG bytes, width, height): upright, RGB, capped, no metadata."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise CaptureError(f"not a readable image: {exc}") from exc
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "P"):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, (255, 255, 255))
        img.paste(rgba, mask=rgba.split()[3])  # transparent = paper white
    elif img.mode != "RGB":
        img = img.convert("L" if img.mode in ("1", "L", "I;16", "I") else "RGB")
    if max(img.size) > options.max_side:
        img.thumbnail((options.max_side, options.max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    quality = max(1, min(95, options.jpeg_quality))
    img.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue(), img.width, img.height


class BlobStore:
    """Files named by the SHA-256 of their (plaintext) content, stored encrypted with the data
    keys of the data directory above ``root`` (kiosk.atrest): blobs/ab/abcdef....jpg."""

    def __init__(self, root: Path, keys: KeyRing | None = None) -> None:
        self.root = Path(root)
        self.keys = keys if keys is not None else atrest.open_keys(self.root.parent)

    def path_for(self, sha: str, suffix: str = ".jpg") -> Path:
        return self.root / sha[:2] / f"{sha}{suffix}"

    def read(self, path: Path) -> bytes:
        """The plaintext of a page stored here (what a screen shows)."""
        return atrest.read_file(Path(path), self.keys)

    def put(self, data: bytes, suffix: str = ".jpg") -> tuple[str, Path]:
        """Store ``data`` (once: the same bytes map to the same file) and return (sha, path)."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.path_for(sha, suffix)
        if path.exists() and _sealed(path):
            return sha, path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(atrest.seal_bytes(self.keys, data, sha))
                f.flush()
                os.fsync(f.fileno())  # the page survives a power cut once put() returns
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CaptureError(f"cannot store the page in {self.root}: {exc}") from exc
        return sha, path


def read_page(path: Path | str) -> bytes:
    """The plaintext of a page file a BlobStore wrote (``<data dir>/blobs/ab/<sha>.jpg``)."""
    path = Path(path)
    data = path.read_bytes()
    if not crypto.is_encrypted(data):
        return data
    return atrest.unseal_bytes(atrest.open_keys(path.parents[2]), data, path.name.split(".")[0])


def _sealed(path: Path) -> bool:
    with open(path, "rb") as fh:
        return crypto.is_encrypted(fh.read(len(crypto.BLOB_MAGIC)))


def store_pages(raw_pages: list[bytes], store: BlobStore, options: PageOptions) -> list[Page]:
    """Normalise and store each raw page; the list is in the order given."""
    pages = []
    for raw in raw_pages:
        data, width, height = normalise(raw, options)
        sha, path = store.put(data)
        pages.append(Page(sha, path, width, height, len(data)))
    return pages


class FileImport:
    """Pages from image files (tests, the demo, an admin importing a document)."""

    name = "capture"

    def __init__(self, store: BlobStore, options: PageOptions = PageOptions(), *,
                 kind: str = "files") -> None:
        self.store, self.options, self.kind = store, options, kind

    def capture(self, paths: list[Path]) -> list[Page]:
        """Read, normalise and store the files at ``paths``."""
        raw = []
        for p in paths:
            try:
                raw.append(Path(p).read_bytes())
            except OSError as exc:
                raise CaptureError(f"cannot read {p}: {exc}") from exc
        if not raw:
            raise CaptureError("no file was chosen")
        return store_pages(raw, self.store, self.options)

    def state(self) -> DeviceState:
        detail = f"image files, stored in {self.store.root}"
        if self.kind == "camera":
            detail = "camera (through Qt on the kiosk screen); files here"
        return DeviceState(self.name, self.kind, True, detail)

    def close(self) -> None:
        pass


class SimulatedScanner:
    """A sheet scanner for the demo and tests: each capture is one rendered page (a sample form
    with a page number), normalised and stored exactly like a real scan."""

    name = "capture"
    kind = "simulated"

    def __init__(self, store: BlobStore, options: PageOptions = PageOptions()) -> None:
        self.store, self.options = store, options
        self.pages_scanned = 0

    def capture(self, paths: list[Path] | None = None) -> list[Page]:
        if paths:  # files given (an admin importing): same as FileImport
            return FileImport(self.store, self.options).capture(paths)
        self.pages_scanned += 1
        return store_pages([self._page(self.pages_scanned)], self.store, self.options)

    @staticmethod
    def _page(number: int) -> bytes:
        import io

        from PIL import Image, ImageDraw

        page = Image.new("RGB", (1240, 1754), "white")  # A4 at 150 dpi
        draw = ImageDraw.Draw(page)
        draw.rectangle((80, 80, 1160, 1674), outline="black", width=4)
        draw.text((120, 120), f"SAMPLE DOCUMENT - simulated scan, page {number}", fill="black")
        for row in range(24):  # grey bars stand for lines of text
            y = 220 + row * 56
            draw.rectangle((120, y, 120 + 600 + (row * 137) % 400, y + 18), fill="#9a9a9a")
        buffer = io.BytesIO()
        page.save(buffer, "PNG")
        return buffer.getvalue()

    def state(self) -> DeviceState:
        return DeviceState(self.name, self.kind, True, f"simulated scanner, {self.pages_scanned} pages")

    def close(self) -> None:
        pass


class SaneScanner:
    """A flatbed or sheet-fed scanner through SANE's ``scanimage`` command."""

    name = "capture"
    kind = "sane"

    def __init__(self, store: BlobStore, options: PageOptions = PageOptions(), *,
                 device: str = "", dpi: int = 200, timeout: float = 120.0) -> None:
        self.store, self.options = store, options
        self.device, self.dpi, self.timeout = device, dpi, timeout

    @staticmethod
    def unusable_reason() -> str | None:
        return None if shutil.which("scanimage") else "scanimage is not installed (apt sane-utils)"

    def _cmd(self) -> list[str]:
        cmd = ["scanimage", "--format=png", f"--resolution={self.dpi}", "--mode=Color"]
        return cmd + ([f"--device-name={self.device}"] if self.device else [])

    def capture(self) -> list[Page]:
        """Scan one page and store it."""
        if reason := self.unusable_reason():
            raise CaptureError(reason)
        try:
            done = subprocess.run(self._cmd(), capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise CaptureError(f"the scanner took longer than {self.timeout:.0f} s") from exc
        if done.returncode != 0 or not done.stdout:
            raise CaptureError("the scanner did not scan: "
                               + done.stderr.decode(errors="replace").strip()[:200])
        return store_pages([done.stdout], self.store, self.options)

    def state(self) -> DeviceState:
        if reason := self.unusable_reason():
            return DeviceState(self.name, self.kind, False, reason)
        try:
            done = subprocess.run(["scanimage", "-L"], capture_output=True, timeout=20)
        except subprocess.TimeoutExpired:
            return DeviceState(self.name, self.kind, False, "scanimage -L did not finish")
        listing = done.stdout.decode(errors="replace")
        if "device" not in listing:
            return DeviceState(self.name, self.kind, False, "no SANE scanner found")
        return DeviceState(self.name, self.kind, True, listing.strip().splitlines()[0][:120])

    def close(self) -> None:
        pass
