"""Benchmark sealing: the PAdES seal alone and the whole finalize of a fully signed document.

For a covenant with three partners (the real renderer's multi-page document) and a
Bijlage 1: median and p95 of

* ``seal``      – ``signatures.seal.seal_pdf`` of the assembled PDF (EC P-256, B-B)
* ``pages``     – signature page + certificate of completion (WeasyPrint)
* ``finalize``  – claim, build (pages + pypdf assembly), seal, store, evidence event

on a throwaway SQLite database.

    PYTHONPATH=. python bench/signing.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import update

from registry.documents import build
from signatures import assembly as final_pdf
from signatures import workflow as service
from database import migrate
from registry import services
from database.engine import make_engine, make_session_factory
from signatures.models import SignedDocument

from registry import crypto  # noqa: E402

# Signers' names and signatures are encrypted at rest: a data key for this run.
crypto.configure(crypto.ring_from_texts(os.environ.get("DATA_KEY") or crypto.generate_key()))


def arrange(factory, config) -> list[tuple[str, int]]:
    """A covenant with three partners and a Bijlage 1, all signed online."""
    with factory() as s:
        cov = services.create_covenant(s, pack="emmen-casustafel", title="Convenant Emmen", region="Emmen")
        for i in range(3):
            org = services.create_organisation(s, f"Partner {i}")
            rep = services.create_person(s, name=f"Vertegenwoordiger {i}", initials="V.", organisation_id=org.id,
                                         function="Directeur", email=f"rep{i}@example.org")
            services.add_partner(s, cov, organisation_id=org.id, representative_id=rep.id)
        table = services.create_table(s, covenant_id=cov.id, name="Casustafel Noord", area="Emmen-Noord")
        person = services.create_person(s, name="Mira Kamphuis", initials="M.", organisation_id=org.id, email="m@example.org")
        declaration = services.create_declaration(s, kind="structural", person_id=person.id, table_id=table.id)
        subjects = [("covenant", cov.id), ("declaration", declaration.id)]
        invitations = [i for kind, sid in subjects
                       for i in service.send_for_signing(s, config, kind, sid, actor="bench", base_url="https://x.example")]
        s.commit()
        for inv in invitations:
            service.sign(s, inv.token, full_name=inv.request.signer_name, agree=True, signature=None,
                         ip="192.0.2.1", user_agent="bench")
        s.commit()
    return subjects


def measure(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def report(name: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    print(f"{name:28s} median {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    migrate.upgrade(url)
    factory = make_session_factory(make_engine(url))
    config = {"INSTANCE_DIR": str(tmp), "SIGNING_LINK_DAYS": 14, "MAIL_FROM": "bench@example.org"}
    service.seal_identity(config)  # key generation is a one-off, not part of a seal
    for kind, sid in arrange(factory, config):
        with factory() as s:
            doc = service._document(s, kind, sid)
            requests = service._signed_requests(s, kind, sid)
            snapshot = service._final_snapshot(s, doc, requests)
            view = service.final_view(s, doc, snapshot, requests)
            pack_name = build.pack_of_subject(s, kind, sid)
            pages = final_pdf.render_pages(view, pack_name)
            assembled = final_pdf.assemble(snapshot.pdf, pages, [], view)
        report(f"{kind}: pages", measure(lambda: final_pdf.render_pages(view, pack_name), runs))
        report(f"{kind}: seal", measure(lambda: service.seal(config, assembled, view), runs))

        def finalize_again():
            with factory() as s:  # reset to pending so each run does the whole job
                s.execute(update(SignedDocument).where(SignedDocument.id == doc.id).values(status="pending_seal"))
                s.commit()
            assert service.finalize(factory, config, doc.id) == "sealed"
        report(f"{kind}: finalize", measure(finalize_again, runs))
        print(f"{kind}: document {len(snapshot.pdf) // 1024} KiB, sealed {len(service.seal(config, assembled, view)) // 1024} KiB")


if __name__ == "__main__":
    main()
