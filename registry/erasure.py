"""Deleting what is held about a resident (*verwijderen*): by retention, by an erasure
request (AVG art. 17) or at once for a case that does not belong at the table.

What goes: the resident's identity on every consent (name, birth date, contact person,
purpose, free recipients), the consent documents — snapshots shown to signers, sealed
PDFs, paper scans — and the signers' names, e-mails, typed names, signature images, IPs
and user agents; the evidence log's personal columns are blanked through its erasure
(clear values and salts go, chain hashes stay, so the chain still verifies). For a case
also its phase history, participants, sharing bases, action list, agenda items and
need-to-know statements; its reference is replaced so nothing links back. What stays:
tombstone rows (so ``GET /api/v1/consents/{id}`` can answer 410 ``erased``), one
evidence entry per record naming the rule but no personal data, and counts per table
and month (:class:`registry.models.RetentionFigure`).

Sealed PDFs that other parties downloaded are out of reach; callers say so.

This module reaches into the signing records (:mod:`signatures`), which otherwise build
on the registry; the imports are local so the registry still loads on its own.
Functions ``flush`` and never ``commit``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from registry.models import (
    ActionItem, Case, CaseEvent, CaseParticipant, Consent, Declaration, MeetingCase,
    NeedToKnowWithdrawal, RetentionFigure, SharingBasis,
)

ERASED_REFERENCE = "verwijderd-{id}"
"""The reference an erased case keeps: unique per table, linking to nothing."""


def count_figure(session: Session, table_id: int, on: dt.date, kind: str, amount: int = 1) -> None:
    """Add ``amount`` to the non-identifying figure ``kind`` of the table's month."""
    month = on.strftime("%Y-%m")
    row = session.scalar(select(RetentionFigure).where(
        RetentionFigure.table_id == table_id, RetentionFigure.month == month, RetentionFigure.kind == kind))
    if row is None:
        row = RetentionFigure(table_id=table_id, month=month, kind=kind, count=0)
        session.add(row)
    row.count += amount
    session.flush()


def erase_consent(session: Session, consent: Consent, *, on: dt.date, rule: str, by: str) -> bool:
    """Delete a consent's resident identity and documents; False when already erased."""
    if consent.erased_on is not None:
        return False
    consent.resident_name = ""
    consent.resident_birth_date = None
    consent.contact_person = None
    consent.purpose = ""
    consent.other_recipients = []
    consent.withdrawn_by = None
    consent.erased_on = on
    if hasattr(consent, "resident_key"):
        consent.resident_key = None
    _erase_signing_records(session, "consent", consent.id, by)
    session.flush()
    _evidence(session, "consent", consent.id, rule, by)
    count_figure(session, consent.case.table_id, on, "consent_erased")
    return True


def erase_case(session: Session, case: Case, *, on: dt.date, rule: str, by: str) -> bool:
    """Delete a case down to a tombstone (see the module text); False when already erased."""
    if case.retention_stage == "erased":
        return False
    for consent in session.scalars(select(Consent).where(Consent.case_id == case.id)):
        erase_consent(session, consent, on=on, rule=rule, by=by)
    old_reference = case.reference
    new_reference = ERASED_REFERENCE.format(id=case.id)
    session.execute(update(Declaration).where(Declaration.table_id == case.table_id,
                                              Declaration.case_ref == old_reference)
                    .values(case_ref=new_reference))
    for model in (CaseEvent, CaseParticipant, SharingBasis, ActionItem, NeedToKnowWithdrawal):
        session.execute(delete(model).where(model.case_id == case.id))
    for item in session.scalars(select(MeetingCase).where(MeetingCase.case_id == case.id)):
        session.delete(item)
    session.flush()
    session.expire(case, ["participants", "events"])
    case.reference = new_reference
    case.brought_by_person_id = None
    case.procesregisseur_id = None
    case.casusregie_organisation_id = None
    case.retention_hold_reason = None
    case.retention_review_on = None
    case.retention_stage = "erased"
    case.erased_on = on
    case.closed_on = case.closed_on or on
    session.flush()
    _evidence(session, "case", case.id, rule, by)
    count_figure(session, case.table_id, on, "case_not_belonging" if rule == "not_belonging" else "case_erased")
    return True


def _erase_signing_records(session: Session, kind: str, subject_id: int, by: str) -> None:
    """Delete the documents of a subject and blank its signers' personal data, including
    the personal columns of its evidence entries (the chain still verifies)."""
    from signatures import evidence
    from signatures.models import DocumentSnapshot, PaperScan, SignedDocument, SigningRequest

    for model in (DocumentSnapshot, SignedDocument):
        session.execute(delete(model).where(model.subject_kind == kind, model.subject_id == subject_id))
    session.execute(delete(PaperScan).where(PaperScan.subject_kind == kind, PaperScan.subject_id == subject_id))
    for request in session.scalars(select(SigningRequest).where(
            SigningRequest.subject_kind == kind, SigningRequest.subject_id == subject_id)):
        request.signer_name = ""
        request.signer_email = None
        request.full_name_typed = None
        request.signature_png = None
        request.declined_reason = None
        request.ip = None
        request.user_agent = None
        request.token_hash = None
        if request.status == "pending":
            request.status = "cancelled"
    session.flush()
    for entry in evidence.events_for(session, kind, subject_id):
        if entry.erased_at is None and entry.event != "erased":
            evidence.erase_personal_data(session, entry.id, erased_by=by)


def _evidence(session: Session, kind: str, subject_id: int, rule: str, by: str) -> None:
    """One evidence entry for a deleted record: what, why (the rule) — no personal data."""
    from signatures import evidence

    evidence.append_event(session, subject_kind=kind, subject_id=subject_id, event="retention_erased",
                          actor=by, details={"rule": rule})
