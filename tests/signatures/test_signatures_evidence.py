"""The hash-chained evidence log: verification, tampering, erasure, concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from signatures.evidence import append_event, erase_personal_data, events_for, verify_chain
from signatures.models import EvidenceEvent, EvidenceHead


def _fill(session, now, n=5):
    """Append ``n`` events with personal data and commit them."""
    for i in range(n):
        append_event(session, subject_kind="consent", subject_id=7, request_id=i + 1,
                     event="opened" if i % 2 else "signed", actor=f"Jan Jansen <jan{i}@example.nl>",
                     ip=f"192.0.2.{i}", user_agent="Firefox/140", details={"n": i, "doc": "ab" * 32},
                     occurred_at=now + timedelta(minutes=i))
    session.commit()


def test_empty_log_verifies(session):
    assert verify_chain(session).ok


def test_chain_verifies_and_links(session, now):
    _fill(session, now)
    result = verify_chain(session)
    assert result.ok and result.checked == 5 and result.first_broken_seq is None
    entries = events_for(session, "consent", 7)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.chain_hash for a, b in zip(entries, entries[1:]))
    assert session.get(EvidenceHead, 1).chain_hash == entries[-1].chain_hash


TAMPERS = {
    "id": "id = 99",
    "seq": "seq = 99",
    "subject_kind": "subject_kind = 'covenant'",
    "subject_id": "subject_id = 8",
    "request_id": "request_id = 42",
    "event": "event = 'declined'",
    "actor": "actor = 'Piet Puk <piet@example.nl>'",
    "occurred_at": "occurred_at = '2026-03-02 09:00:00.000000'",
    "ip": "ip = '198.51.100.1'",
    "user_agent": "user_agent = 'curl/8'",
    "details": "details = '{\"n\": 3, \"doc\": \"x\"}'",
    "pii_salt": "pii_salt = '00000000000000000000000000000000'",
    "pii_hash": "pii_hash = '" + "1" * 64 + "'",
    "erased_at": "erased_at = '2026-03-02 09:00:00.000000'",
    "content_hash": "content_hash = '" + "2" * 64 + "'",
    "prev_hash": "prev_hash = '" + "3" * 64 + "'",
    "chain_hash": "chain_hash = '" + "4" * 64 + "'",
}


@pytest.mark.parametrize("column", sorted(TAMPERS))
def test_tampering_any_column_is_detected_at_that_seq(session, now, column):
    _fill(session, now)
    session.execute(text(f"UPDATE evidence_events SET {TAMPERS[column]} WHERE seq = 3"))
    session.commit()
    session.expire_all()
    result = verify_chain(session)
    assert not result.ok
    assert result.first_broken_seq == 3, result
    assert result.problem


def test_deleted_entry_is_detected(session, now):
    _fill(session, now)
    session.execute(text("DELETE FROM evidence_events WHERE seq = 2"))
    session.commit()
    assert verify_chain(session).first_broken_seq == 2


def test_cut_off_tail_is_detected(session, now):
    _fill(session, now)
    session.execute(text("DELETE FROM evidence_events WHERE seq = 5"))
    session.commit()
    result = verify_chain(session)
    assert not result.ok and result.first_broken_seq == 5


def test_erasure_blanks_personal_data_and_keeps_chain(session, now):
    _fill(session, now)
    entry = erase_personal_data(session, 2, erased_by="privacy officer")
    session.commit()
    session.expire_all()
    entry = session.get(EvidenceEvent, 2)
    assert (entry.actor, entry.ip, entry.user_agent, entry.pii_salt) == (None, None, None, None)
    assert entry.erased_at is not None
    result = verify_chain(session)
    assert result.ok and result.checked == 6
    assert events_for(session, "consent", 7)[-1].event == "erased"


def test_refilling_erased_data_is_detected(session, now):
    _fill(session, now)
    erase_personal_data(session, 2)
    session.commit()
    session.execute(text("UPDATE evidence_events SET ip = '192.0.2.1' WHERE seq = 2"))
    session.commit()
    session.expire_all()
    assert verify_chain(session).first_broken_seq == 2


def test_erase_unknown_entry_raises(session):
    with pytest.raises(LookupError):
        erase_personal_data(session, 12345)


def test_concurrent_appends_serialise(session_factory, now):
    """Twenty writers at once: every append lands, seq has no gaps, chain verifies."""
    barrier = threading.Barrier(20)
    errors = []

    def writer(i):
        try:
            with session_factory() as s:
                barrier.wait()
                append_event(s, subject_kind="meeting", subject_id=i, event="sent", actor=f"user{i}")
                s.commit()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_factory() as s:
        result = verify_chain(s)
        assert result.ok and result.checked == 20
        assert sorted(e.subject_id for e in s.query(EvidenceEvent)) == list(range(20))
