"""Twenty signers at the same moment against a served app (werkzeug's threaded server on
loopback), on SQLite and PostgreSQL: no signature lost, none counted twice, one seal.
And a process killed between the last signature and the seal: the worker's next round completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from signatures import workflow as service
from registry.models import Covenant, Partnership
from signatures.evidence import verify_chain
from signatures.models import EvidenceEvent, SignedDocument, SigningRequest
from tests import signing_support as support

REPO = Path(__file__).resolve().parent.parent


def test_twenty_signers_at_once(served, api, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 20)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    links = support.links_by_recipient(api)
    jobs = [(links[rep["email"]], rep["name"], f"own{i}") for i, rep in enumerate(reps)]
    jobs += [(links[reps[0]["email"]], reps[0]["name"], f"dup{i}") for i in range(4)]  # the same link, four more times
    barrier = threading.Barrier(len(jobs))
    outcomes: dict[str, int] = {}

    def worker(link: str, name: str, label: str) -> None:
        with requests.Session() as http:
            url = served + support.path_of(link)
            page = http.get(url, timeout=60)
            csrf = support.CSRF_RE.search(page.text).group(1) if page.status_code == 200 else ""
            barrier.wait()
            answer = http.post(url, data={"full_name": name, "agree": "y", "csrf_token": csrf,
                                          "signature": support.png_data_url()},
                               headers={"User-Agent": label}, allow_redirects=False, timeout=120)
            outcomes[label] = answer.status_code

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started

    statuses = [outcomes[f"own{i}"] for i in range(1, 20)] + [outcomes["own0"]] + [outcomes[f"dup{i}"] for i in range(4)]
    assert statuses.count(303) == 20 and statuses.count(410) == 4, outcomes
    app_session.expire_all()
    assert app_session.scalars(select(SignedDocument.status)).all() == ["pending_seal"]  # no request sealed
    assert support.worker_round(api)["sealed"] == 1
    assert app_session.scalar(select(func.count()).select_from(SigningRequest).where(SigningRequest.status == "signed")) == 20
    assert app_session.scalar(select(func.count()).select_from(EvidenceEvent).where(EvidenceEvent.event == "signed")) == 20
    assert app_session.scalar(select(func.count()).select_from(Partnership).where(Partnership.signed_via == "online")) == 20
    assert app_session.scalar(select(func.count()).select_from(EvidenceEvent).where(EvidenceEvent.event == "sealed")) == 1
    docs = app_session.scalars(select(SignedDocument)).all()
    assert [(d.status, d.attempts) for d in docs] == [("sealed", 1)]
    assert app_session.get(Covenant, covenant_id).in_force_on is not None
    assert verify_chain(app_session).ok
    print(f"\n20 concurrent signers + 4 duplicates + seal: {elapsed:.2f} s")


KILL_SCRIPT = """
import os, signal, sys
from database.engine import make_engine, make_session_factory
from signatures import workflow as service
url, token, name, stage = sys.argv[1:5]
factory = make_session_factory(make_engine(url))
with factory() as session:
    if stage == "after_sign":
        request = service.sign(session, token, full_name=name, agree=True, signature=None, ip="127.0.0.1", user_agent="kill")
        session.commit()
    else:
        doc_id = session.scalars(service.select(service.SignedDocument.id)).one()
        assert service._claim(factory, doc_id, None)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _run_and_kill(db_url: str, token: str, name: str, stage: str) -> None:
    """Run the signing (or the claim) in a separate process that is killed right after it."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, db_url, token, name, stage], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_killed_between_last_signature_and_seal(api, app, app_session, db_url, instance_dir):
    declaration = _declaration_waiting(api, app_session)
    assert api.post(f"/api/v1/declarations/{declaration}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)["mira@ggd.example"]
    _run_and_kill(db_url, support.path_of(link).rsplit("/", 1)[1], "Mira Kamphuis", "after_sign")

    app_session.expire_all()
    assert app_session.scalars(select(SignedDocument.status)).all() == ["pending_seal"]
    pending = api.get(f"/api/v1/declarations/{declaration}/signed.pdf")
    assert pending.status_code == 409 and pending.json["error"]["code"] == "not_sealed"

    assert support.worker_round(app)["sealed"] == 1  # the worker's next round completes it
    app_session.expire_all()
    assert app_session.scalars(select(SignedDocument.status)).all() == ["sealed"]
    assert api.get(f"/api/v1/declarations/{declaration}/signed.pdf").status_code == 200


def test_killed_while_sealing_is_taken_over_after_the_lease(api, app, app_session, db_url):
    import datetime as dt

    declaration = _declaration_waiting(api, app_session)
    assert api.post(f"/api/v1/declarations/{declaration}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)["mira@ggd.example"]
    _run_and_kill(db_url, support.path_of(link).rsplit("/", 1)[1], "Mira Kamphuis", "after_sign")
    _run_and_kill(db_url, "-", "-", "after_claim")  # a worker took the job and died

    factory = app.extensions["db_sessions"]
    assert service.complete_pending(factory, app.config)["busy"] == 1  # the lease still holds
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=service.SEAL_LEASE_SECONDS + 1)
    assert service.complete_pending(factory, app.config, now=later)["sealed"] == 1
    app_session.expire_all()
    assert [(d.status, d.attempts) for d in app_session.scalars(select(SignedDocument))] == [("sealed", 2)]
    assert service.complete_pending(factory, app.config, now=later)["sealed"] == 0


def _declaration_waiting(api, app_session) -> int:
    """A Bijlage 1 for Mira, waiting for her signature."""
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="GGD", signed_on="2025-05-05")
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Zuid", "area": "Emmen-Zuid"}).json
    person = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": reps[0]["organisation_id"],
                                         "function": "Jeugdverpleegkundige", "email": "mira@ggd.example"}).json
    return api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"], "table_id": table["id"]}).json["id"]
