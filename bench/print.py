"""Time rendering a receipt to the bytes sent to the printer, in GB18030 and raster modes.

"Render" is everything between a receipt's data and bytes ready to write to the transport:
layout, wrapping, the ESC/POS encoding (and, in raster mode, drawing the receipt with Pillow and
packing it as GS v 0 images). Each iteration renders a different application number, so the QR
code and the text are new every time (nothing cached from the previous run).
Prints p50/p95 per mode; the last line is `render_p95_ms: <worst p95 of the modes>`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

# Not bench/ itself: bench/queue.py would shadow the standard library's queue module.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk import receipts  # noqa: E402
from kiosk.devices.printer import load_model, render  # noqa: E402

RUNS = 200
CASES = [("gb18030-80", 80), ("gb18030-58", 58), ("raster-80", 80), ("raster-58", 58)]


def receipt(n: int) -> receipts.Document:
    number = f"H0001-K01-20261207-{n:04d}"
    return receipts.application_receipt(
        hall_name="某某市民服务中心", application_no=number, item_name="食品经营许可证核发（新办）",
        applicant=receipts.mask_name("王小明"), id_number="1101**********002X",
        filed_at="2026-12-07 10:32", time_limit_days=10,
        materials=[{"name": "营业执照复印件", "note": "1份"},
                   {"name": "法定代表人身份证明"},
                   {"name": "经营场所平面图及设备布局图，需标明尺寸和功能分区", "note": "原件"},
                   {"name": "食品安全管理制度文本"}],
        query_url=f"https://zwfw.example.gov.cn/q/{number}", phone="12345", lang="zh-Hans")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def main() -> None:
    worst = 0.0
    for model_name, paper in CASES:
        model = load_model(model_name)
        render(receipt(0), model, paper)  # warm: fonts loaded, profile parsed
        times = []
        size = 0
        for n in range(1, RUNS + 1):
            t0 = time.perf_counter()
            data = render(receipt(n), model, paper)
            times.append((time.perf_counter() - t0) * 1000)
            size = len(data)
        q95 = p95(times)
        worst = max(worst, q95)
        print(f"{model_name:11s} {paper} mm ({model.text_mode:7s}): p50 "
              f"{statistics.median(times):6.2f} ms  p95 {q95:6.2f} ms  {size:6d} bytes")
    print(f"render_p95_ms: {worst:.2f}")


if __name__ == "__main__":
    main()
