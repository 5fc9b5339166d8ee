"""Signing requests: every refusal code, state changes, evidence, concurrency."""

from __future__ import annotations

import base64
import struct
import threading
import zlib
from datetime import timedelta

import pytest

from signatures import lifecycle
from signatures.disclosure import CURRENT_VERSION, get_disclosure
from signatures.evidence import events_for, verify_chain
from signatures.lifecycle import (
    SigningError,
    cancel_request,
    create_request,
    decline_request,
    expire_due,
    open_request,
    record_offline_signature,
    sign_request,
)
from signatures.models import EvidenceEvent, SigningRequest


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built by hand so no imaging library is needed."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (lifecycle.PNG_MAGIC + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def make_request(session, now, name="Jan de Vries", **kw):
    """Create and commit a pending request for a resident's consent; return (id, token)."""
    request, token = create_request(session, subject_kind=kw.pop("subject_kind", "consent"),
                                    subject_id=kw.pop("subject_id", 1), signer_name=name,
                                    signer_email="jan@example.nl", signer_role="resident", now=now, **kw)
    session.commit()
    return request.id, token


def sign(session, token, now, name="Jan de Vries", agree=True, signature=None, **kw):
    return sign_request(session, token, name, agree, signature, "192.0.2.7", "Firefox/140", now, **kw)


def test_create_stores_only_the_hash(session, now):
    request_id, token = make_request(session, now)
    request = session.get(SigningRequest, request_id)
    assert request.status == "pending" and request.token_hash != token and token not in request.token_hash
    assert request.expires_at == now + timedelta(days=14)
    assert [e.event for e in events_for(session, "consent", 1)] == ["created"]


def test_create_rejects_unknown_choices(session, now):
    with pytest.raises(ValueError):
        create_request(session, subject_kind="invoice", subject_id=1, signer_name="A", signer_role="resident")
    with pytest.raises(ValueError):
        create_request(session, subject_kind="consent", subject_id=1, signer_name="A", signer_role="king")
    with pytest.raises(ValueError):
        create_request(session, subject_kind="consent", subject_id=1, signer_name="  ", signer_role="resident")


def test_happy_path_open_then_sign(session, now):
    request_id, token = make_request(session, now, document_sha256="ab" * 32)
    open_request(session, token, ip="192.0.2.7", user_agent="Firefox/140", now=now + timedelta(minutes=1))
    session.commit()
    png = tiny_png()
    request = sign(session, token, now + timedelta(minutes=2), name="  JAN   de vries ",
                   signature=data_url(png), document_sha256="ab" * 32)
    session.commit()
    assert request.status == "signed" and request.signature_png == png
    assert request.full_name_typed == "JAN de vries"
    assert request.signed_at == now + timedelta(minutes=2) and request.opened_at == now + timedelta(minutes=1)
    assert request.disclosure_version == CURRENT_VERSION
    assert request.disclosure_sha256 == get_disclosure().sha256
    assert (request.ip, request.user_agent) == ("192.0.2.7", "Firefox/140")
    events = events_for(session, "consent", 1)
    assert [e.event for e in events] == ["created", "opened", "agreed", "signed"]
    assert events[-1].details["document_sha256"] == "ab" * 32
    assert verify_chain(session).ok


def test_sign_without_drawn_signature_is_allowed(session, now):
    _, token = make_request(session, now)
    assert sign(session, token, now).signature_png is None


def _snapshot(session):
    """Everything a refused step must leave alone."""
    session.expire_all()
    rows = [(r.status, r.signed_at, r.full_name_typed, r.signature_png, r.declined_reason)
            for r in session.query(SigningRequest).order_by(SigningRequest.id)]
    return rows, session.query(EvidenceEvent).count()


BAD_PNGS = {
    "wrong prefix": "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff").decode(),
    "not base64": "data:image/png;base64,@@@@",
    "not a png": data_url(b"GIF89a" + b"\x00" * 20),
    "too big": data_url(tiny_png() + b"\x00" * (500 * 1024)),
    "not a string": 12345,
}


@pytest.mark.parametrize("case", ["unknown_token", "malformed_token", "expired", "already_used", "cancelled",
                                  "declined", "name_mismatch", "not_agreed", "agree_truthy_string",
                                  "document_changed", *[f"bad_signature:{k}" for k in BAD_PNGS]])
def test_every_refusal_has_its_code_and_changes_nothing(session, now, case):
    request_id, token = make_request(session, now, document_sha256="ab" * 32)
    kwargs, at, expected = {}, now, case.split(":")[0]
    if case == "unknown_token":
        token = "A" * 43
    elif case == "malformed_token":
        token, expected = "../../etc/passwd", "unknown_token"
    elif case == "expired":
        at = now + timedelta(days=14)
    elif case == "already_used":
        sign(session, token, now)
        session.commit()
    elif case == "cancelled":
        cancel_request(session, request_id, actor="coordinator")
        session.commit()
    elif case == "declined":
        decline_request(session, token, "Ik wil op papier tekenen", now=now)
        session.commit()
        expected = "already_used"
    elif case == "name_mismatch":
        kwargs["name"] = "Jan de Vries-Bakker"
    elif case == "not_agreed":
        kwargs["agree"] = False
    elif case == "agree_truthy_string":
        kwargs["agree"], expected = "false", "not_agreed"
    elif case == "document_changed":
        kwargs["document_sha256"] = "cd" * 32
    else:
        kwargs["signature"] = BAD_PNGS[case.split(":")[1]]
        if case == "bad_signature:too big":
            expected = "signature_too_large"  # its own message: the signer can fix it by drawing again
    before = _snapshot(session)
    with pytest.raises(SigningError) as info:
        sign(session, token, at, **kwargs)
    assert info.value.code == expected
    assert info.value.message_nl == lifecycle.SigningError(expected).message_nl
    session.rollback()
    assert _snapshot(session) == before


def test_open_refuses_closed_requests(session, now):
    _, token = make_request(session, now)
    with pytest.raises(SigningError, match="expired"):
        open_request(session, token, now=now + timedelta(days=15))
    open_request(session, token, now=now)
    open_request(session, token, now=now + timedelta(minutes=5))  # a second open changes nothing
    assert [e.event for e in events_for(session, "consent", 1)] == ["created", "opened"]


def test_decline_keeps_reason_out_of_the_evidence(session, now):
    _, token = make_request(session, now)
    request = decline_request(session, token, "Privé redenen", ip="192.0.2.9", now=now)
    assert request.status == "declined" and request.declined_reason == "Privé redenen"
    event = events_for(session, "consent", 1)[-1]
    assert event.event == "declined" and event.details == {"reason_given": True}
    with pytest.raises(SigningError, match="already_used"):
        decline_request(session, token, now=now)


def test_cancel_only_open_requests(session, now):
    request_id, token = make_request(session, now)
    cancel_request(session, request_id, actor="coordinator", reason="verkeerde persoon", now=now)
    with pytest.raises(SigningError, match="not_open"):
        cancel_request(session, request_id, actor="coordinator")
    with pytest.raises(LookupError):
        cancel_request(session, 999, actor="coordinator")


def test_expire_due(session, now):
    old_id, _ = make_request(session, now - timedelta(days=20), subject_id=1)
    fresh_id, _ = make_request(session, now, subject_id=2)
    signed_id, signed_token = make_request(session, now - timedelta(days=20), subject_id=3)
    sign(session, signed_token, now - timedelta(days=19))
    assert expire_due(session, now) == 1
    assert expire_due(session, now) == 0
    statuses = {i: session.get(SigningRequest, i).status for i in (old_id, fresh_id, signed_id)}
    assert statuses == {old_id: "expired", fresh_id: "pending", signed_id: "signed"}
    assert events_for(session, "consent", 1)[-1].event == "expired"


def test_paper_signature_with_witness(session, now):
    from tests import factories

    witness = factories.person(session, factories.organisation(session), name="Getuige")
    request_id, token = make_request(session, now)
    request = record_offline_signature(session, request_id, method="paper", actor="coordinator",
                                       witness_person_id=witness.id, now=now)
    assert (request.status, request.method, request.witness_person_id) == ("signed", "paper", witness.id)
    assert events_for(session, "consent", 1)[-1].event == "paper_recorded"
    with pytest.raises(SigningError, match="already_used"):
        sign(session, token, now)


def test_concurrent_signing_counts_each_signature_once(session_factory, now):
    """20 threads sign 20 requests while 5 threads race on one more: 21 signatures."""
    with session_factory() as s:
        tokens = [make_request(s, now, subject_id=i)[1] for i in range(21)]
    contested = tokens[20]
    jobs = [(t, f"own{i}") for i, t in enumerate(tokens[:20])] + [(contested, f"race{i}") for i in range(5)]
    barrier = threading.Barrier(len(jobs))
    outcomes, lock = [], threading.Lock()

    def worker(token, label):
        with session_factory() as s:
            barrier.wait()
            try:
                sign_request(s, token, "Jan de Vries", True, None, "192.0.2.1", label, now)
                s.commit()
                result = "signed"
            except SigningError as exc:
                s.rollback()
                result = exc.code
        with lock:
            outcomes.append((label, result))

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = dict(outcomes)
    assert all(results[f"own{i}"] == "signed" for i in range(20))
    race = [results[f"race{i}"] for i in range(5)]
    assert race.count("signed") == 1 and race.count("already_used") == 4
    with session_factory() as s:
        assert s.query(SigningRequest).filter_by(status="signed").count() == 21
        assert s.query(EvidenceEvent).filter_by(event="signed").count() == 21
        winner = [label for label, r in outcomes if r == "signed" and label.startswith("race")][0]
        assert s.query(SigningRequest).filter_by(subject_id=20).one().user_agent == winner
        assert verify_chain(s).ok
