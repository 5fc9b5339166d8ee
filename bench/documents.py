"""Benchmark the document renderer.

For the covenant (about 14 pages) and one annex (Bijlage 4, one page): median and p95
time of our full path (view-model -> HTML -> PDF, with the pack URL fetcher, metadata
and the PDF/A-3b variant; also plain and tagged PDF/UA-1), pages per second, and the ratio to a bare WeasyPrint
``HTML(string=html, base_url=pack).write_pdf()`` of the same HTML. The bare render gets
the pack folder as base URL so it loads the same stylesheet and fonts; otherwise it
would be measuring a different (unstyled) document.

It then measures the **second download** (the document cache, :mod:`registry.documents.cache`)
of the covenant PDF, a Bijlage 1 and the sealed presentie- en toetsingslijst through the
real API (Flask's test client in this process, a fresh SQLite database, every request
with its token check, access check, view-model and cache lookup): median and p95, goal
10 ms, with the first download (the render) beside it and the ratio.

    python bench/documents.py [--runs 20] [--downloads 200] [--no-render]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's packages, not an installed copy

from registry.documents import (ConsentDoc, Party, covenant_from_pack, load_pack,  # noqa: E402
                                render_html, render_pdf)

SECOND_DOWNLOAD_GOAL_MS = 10.0


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


def second_downloads(downloads: int) -> None:
    """First and repeated downloads of three documents through the API (see the module text)."""
    from registry import crypto

    os.environ.setdefault("DATA_KEY", crypto.generate_key())
    folder = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    os.environ["FORMS_SERVICE_INSTANCE"] = str(folder / "instance")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    from database import migrate
    from database.engine import make_engine, make_session_factory
    from forms_service import create_app
    from registry import accounts
    from registry.models import Declaration
    from tests.meetings.world import D, build, plan

    migrate.upgrade(url)
    app = create_app({"DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    with make_session_factory(make_engine(url))() as session:
        world = build(session)
        meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]]})
        declaration = session.query(Declaration).filter_by(person_id=world["mira"].id).one()
        user = accounts.create_user(session, "bench@example.org", "bench password 123", is_admin=True)
        token = accounts.create_token(session, user)
        session.commit()
        paths = {"covenant": f"/api/v1/covenants/{world['cov'].id}/document.pdf",
                 "Bijlage 1": f"/api/v1/declarations/{declaration.id}/document.pdf",
                 "check list (sealed)": f"/api/v1/meetings/{meeting.id}/check.pdf"}
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def get(path: str) -> float:
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        return elapsed

    header = (f"{'document':<20} {'first ms':>9} {'n':>5} {'median ms':>10} {'p95 ms':>8} "
              f"{'first/median':>13} {'goal p95':>9} {'ok':>4}")
    print()
    print("Second download (document cache), in-process API requests on SQLite")
    print(header)
    print("-" * len(header))
    for label, path in paths.items():
        first = get(path)
        samples = [get(path) for _ in range(downloads)]
        median = statistics.median(samples)
        high = p95(samples)
        print(f"{label:<20} {first:>9.1f} {downloads:>5} {median:>10.2f} {high:>8.2f} {first / median:>12.0f}x "
              f"{SECOND_DOWNLOAD_GOAL_MS:>7g} ms {'yes' if high <= SECOND_DOWNLOAD_GOAL_MS else 'NO':>4}")
    app.extensions["db_engine"].dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--downloads", type=int, default=200, help="repeated downloads per document")
    parser.add_argument("--no-render", action="store_true", help="only the second-download figures")
    parser.add_argument("--pack", default=None, help="pack name (default: first pack)")
    args = parser.parse_args()
    print(f"# load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    if not args.no_render:
        render_figures(args)
    second_downloads(args.downloads)


def render_figures(args) -> None:
    """The renderer's own figures (covenant and Bijlage 4)."""
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
