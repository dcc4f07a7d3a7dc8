"""Document capture: normalising pages (EXIF orientation, size cap, JPEG) and SHA-256 storage."""

import hashlib
import io

import pytest
from PIL import Image

from kiosk import crypto
from kiosk.devices.capture import (
    BlobStore,
    CaptureError,
    FileImport,
    PageOptions,
    SaneScanner,
    normalise,
    read_page,
)


def jpeg_with_orientation(width, height, orientation):
    img = Image.new("RGB", (width, height), "white")
    img.paste((200, 0, 0), (0, 0, width // 4, height // 4))  # a red mark top-left as stored
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def test_exif_rotation_is_applied():
    """GIVEN a 400x200 photo stored sideways with EXIF orientation 6 (rotate 90° clockwise)
    THEN the page is 200x400 and the mark that was top-left is now top-right."""
    data, w, h = normalise(jpeg_with_orientation(400, 200, 6))
    assert (w, h) == (200, 400)
    page = Image.open(io.BytesIO(data))
    assert page.format == "JPEG"
    assert page.getexif().get(0x0112) is None  # no orientation left to apply twice
    red = page.getpixel((w - 10, 10))
    assert red[0] > 150 and red[1] < 80


def test_size_is_capped_and_quality_applies():
    big = io.BytesIO()
    Image.effect_noise((1600, 1000), 60).convert("RGB").save(big, "PNG")
    data_hi, w, h = normalise(big.getvalue(), PageOptions(max_side=800, jpeg_quality=90))
    assert (w, h) == (800, 500)
    data_lo, _, _ = normalise(big.getvalue(), PageOptions(max_side=800, jpeg_quality=30))
    assert len(data_lo) < len(data_hi)


def test_transparent_png_becomes_white_paper():
    img = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    data, _, _ = normalise(out.getvalue())
    assert Image.open(io.BytesIO(data)).getpixel((25, 25))[0] > 240


def test_not_an_image():
    with pytest.raises(CaptureError, match="not a readable image"):
        normalise(b"%PDF-1.7 not an image")


def test_pages_are_stored_by_sha256(tmp_path):
    src = tmp_path / "scan.jpg"
    src.write_bytes(jpeg_with_orientation(800, 600, 1))
    source = FileImport(BlobStore(tmp_path / "blobs"))
    (page,) = source.capture([src])
    assert page.path == tmp_path / "blobs" / page.sha256[:2] / f"{page.sha256}.jpg"
    assert page.path.read_bytes().startswith(crypto.BLOB_MAGIC)  # encrypted at rest
    assert hashlib.sha256(read_page(page.path)).hexdigest() == page.sha256
    (again,) = source.capture([src])  # same content, same address, one file
    assert again.sha256 == page.sha256
    assert len(list((tmp_path / "blobs").rglob("*.jpg"))) == 1
    assert source.state().ok


def test_missing_file(tmp_path):
    with pytest.raises(CaptureError, match="cannot read"):
        FileImport(BlobStore(tmp_path)).capture([tmp_path / "none.jpg"])


def test_sane_says_why_it_cannot_scan(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no scanimage anywhere
    scanner = SaneScanner(BlobStore(tmp_path))
    assert "scanimage" in scanner.state().detail and not scanner.state().ok
    with pytest.raises(CaptureError, match="scanimage"):
        scanner.capture()


def test_sane_scanimage_output_is_stored(tmp_path, monkeypatch):
    """A stand-in scanimage (a script writing a PNG to stdout, as the real one does with
    --format=png) checks the command line and the storing of what comes back."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    png = tmp_path / "page.png"
    Image.new("RGB", (300, 400), "white").save(png)
    script = bin_dir / "scanimage"
    script.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\ncat {png}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    (page,) = SaneScanner(BlobStore(tmp_path / "blobs"), dpi=300, device="epson2:libusb:001:004"
                          ).capture()
    assert (page.width, page.height) == (300, 400)
    args = (tmp_path / "args").read_text()
    assert "--resolution=300" in args and "--device-name=epson2:libusb:001:004" in args


def test_simulated_scanner_stores_a_normalised_page_each_time(tmp_path):
    """GIVEN the demo's simulated scanner WHEN it scans twice THEN two different pages are
    stored by SHA-256 like real scans, and its state says what it is."""
    from kiosk.devices.capture import BlobStore, SimulatedScanner

    scanner = SimulatedScanner(BlobStore(tmp_path / "blobs"))
    first, second = scanner.capture()[0], scanner.capture()[0]
    assert first.sha256 != second.sha256
    assert first.path.exists() and read_page(first.path)[:2] == b"\xff\xd8"  # JPEG
    assert scanner.state().kind == "simulated" and scanner.state().ok
