"""Benchmark the document renderer.

For the covenant (about 14 pages) and one annex (Bijlage 4, one page): median and p95
time of our full path (view-model -> HTML -> PDF, with the pack URL fetcher, metadata
and the PDF/A-3b variant; also plain and tagged PDF/UA-1), pages per second, and the ratio to a bare WeasyPrint
``HTML(string=html, base_url=pack).write_pdf()`` of the same HTML. The bare render gets
the pack folder as base URL so it loads the same stylesheet and fonts; otherwise it
would be measuring a different (unstyled) document.

    PYTHONPATH=. python bench/documents.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from registry.documents import (ConsentDoc, Party, covenant_from_pack, load_pack,
                                     render_html, render_pdf)


def timings(fns: dict, runs: int, warmup: int = 2) -> dict[str, list[float]]:
    """Wall-clock seconds of ``runs`` calls of each function after ``warmup`` calls.
    Calls are interleaved round-robin so drift in machine load hits every path alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def cases(pack):
    """(label, template, view-model) of the documents to measure."""
    parties = tuple(Party(p.organisation, p.representative, date(2025, 5, 1 + i))
                    for i, p in enumerate(pack.founding_partners))
    covenant = covenant_from_pack(pack, parties=parties, in_force_on=date(2025, 5, 8))
    consent = ConsentDoc(resident_name="Jan Jansen", resident_birth_date=date(2009, 3, 4),
                         signed_by="resident", purpose="passende begeleiding te vinden",
                         categories=("name_address",), recipients=("GGD Drenthe",),
                         table_name="Emmen-Noord", signed_on=date(2025, 6, 2))
    return [("covenant", "covenant", covenant), ("bijlage 4", "consent", consent)]


def measure(pack, template, vm, runs):
    """Rows for one document: full path (PDF/A-3b and plain) and bare WeasyPrint."""
    from weasyprint import HTML
    html = render_html(pack, template, vm)
    pages = len(HTML(string=html, base_url=pack.path.as_uri() + "/").render().pages)
    base_url = pack.path.as_uri() + "/"
    results = timings({
        "bare WeasyPrint": lambda: HTML(string=html, base_url=base_url).write_pdf(),
        "ours, PDF/A-3b": lambda: render_pdf(pack, template, vm),
        "ours, plain": lambda: render_pdf(pack, template, vm, variant=None),
        "ours, PDF/UA-1": lambda: render_pdf(pack, template, vm, variant="pdf/ua-1"),
    }, runs)
    return pages, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pack", default=None, help="pack name (default: first pack)")
    args = parser.parse_args()
    from registry.documents import list_packs
    pack = load_pack(args.pack or list_packs()[0])

    header = f"{'document':<10} {'path':<16} {'pages':>5} {'median s':>9} {'p95 s':>7} {'pages/s':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for label, template, vm in cases(pack):
        pages, results = measure(pack, template, vm, args.runs)
        base = statistics.median(results["bare WeasyPrint"])
        for path, values in results.items():
            median = statistics.median(values)
            print(f"{label:<10} {path:<16} {pages:>5} {median:>9.3f} {p95(values):>7.3f} "
                  f"{pages / median:>8.1f} {median / base:>6.2f}")


if __name__ == "__main__":
    main()
