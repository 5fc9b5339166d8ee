"""Keeping sealed documents verifiable for the long term: ``forms-service ltv-refresh``.

A PAdES-B-LT seal (TIMESTAMP_URL set, :mod:`signatures.seal`) carries its validation
data, but its timestamp is only as good as the timestamp authority's certificate.
Before that certificate expires, a **document timestamp** is added over the whole file
(with the validation data of the previous timestamp embedded first): PAdES-B-LTA. Each
later refresh adds the next one, so the chain can be extended for as long as the
documents must be kept.

Which documents: every sealed document (``SignedDocument.status == "sealed"``) whose
newest timestamp's certificate expires within ``LTV_REFRESH_DAYS`` days (default 90;
``--within-days``), or every timestamped one with ``--all``. A PAdES-B-B seal (no
timestamp) is skipped: a document timestamp would not make it long-term.

Safe to run twice, or in two processes at once:

* a document whose newest timestamp is already a document timestamp *made with the
  TSA certificate in use now* is skipped: another one would expire on the same day
  (the TSA's current certificate is learnt once per run, from one timestamp);
* the timestamp server is asked outside any transaction; the new bytes are stored
  with a conditional update on the SHA-256 read before (``WHERE sha256 = old``), so a
  refresh that another run stored first is not overwritten, and the evidence log gets
  one ``timestamped`` event with the old and new SHA-256.

The sealed revision is untouched: the verifier accepts the added revisions because
they hold only validation data and document timestamps; a copy handed out before the
refresh still verifies (found by the keywords of its sealed revision).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from signatures import seal
from signatures.evidence import append_event
from signatures.models import SignedDocument


@dataclass
class RefreshReport:
    """What one run did, per document ``kind/id``."""

    refreshed: list[str] = field(default_factory=list)
    not_due: list[str] = field(default_factory=list)
    no_timestamp: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    """Already carrying a document timestamp of the TSA's current certificate."""
    busy: list[str] = field(default_factory=list)
    """Changed by another run meanwhile: left as that run stored it."""
    failed: dict[str, str] = field(default_factory=dict)


def _roots(config: Mapping[str, Any]) -> list[bytes]:
    """The timestamp authority's roots (TIMESTAMP_TRUST_PEM), as the sealing uses them."""
    from signatures import workflow

    return workflow.trusted_certificates(config)[1:]


def current_tsa_certificate(config: Mapping[str, Any]) -> str | None:
    """SHA-256 of the certificate the TSA signs with now (one timestamp over a fixed
    digest), or None when it cannot be learnt."""
    from signatures.seal import _http_timestamper, _tsa_certificate, run_sync

    stamper = _http_timestamper(config["TIMESTAMP_URL"], 5.0)
    try:
        token = run_sync(lambda: stamper.async_timestamp(hashlib.sha256(b"ltv-refresh").digest(), "sha256"))
    except Exception:  # noqa: BLE001 - without it every due document is simply refreshed
        return None
    return hashlib.sha256(_tsa_certificate(token["content"]).dump()).hexdigest()


def refresh(session_factory: sessionmaker, config: Mapping[str, Any], *, within_days: int | None = None,
            everything: bool = False, now: dt.datetime | None = None, actor: str = "ltv-refresh") -> RefreshReport:
    """Add a document timestamp to every due sealed document (see the module text)."""
    from signatures import workflow

    if not config.get("TIMESTAMP_URL"):
        raise ValueError("ltv-refresh needs TIMESTAMP_URL")
    within = dt.timedelta(days=config.get("LTV_REFRESH_DAYS") or 90 if within_days is None else within_days)
    now = now or dt.datetime.now(dt.timezone.utc)
    report = RefreshReport()
    with session_factory() as session:
        ids = list(session.scalars(select(SignedDocument.id).where(SignedDocument.status == "sealed")
                                   .order_by(SignedDocument.id)))
    tsa_cert = current_tsa_certificate(config)
    for doc_id in ids:
        with session_factory() as session:  # read, then let go of the connection
            doc = session.get(SignedDocument, doc_id)
            name, pdf, old_sha = f"{doc.subject_kind}/{doc.subject_id}", doc.pdf, doc.sha256
        newest = seal.newest_timestamp(pdf or b"")
        if newest is None:
            report.no_timestamp.append(name)
            continue
        if newest.document_timestamp and newest.certificate_sha256 == tsa_cert:
            report.current.append(name)
            continue
        if not everything and newest.certificate_expires > now + within:
            report.not_due.append(name)
            continue
        try:  # network: outside every transaction
            refreshed = seal.add_document_timestamp(
                pdf, timestamp_url=config["TIMESTAMP_URL"], validation_roots=_roots(config),
                seal_certificate=workflow.seal_identity(config).certificate)
        except Exception as exc:  # noqa: BLE001 - reported per document; the others go on
            report.failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        new_sha = hashlib.sha256(refreshed).hexdigest()
        with session_factory() as session:
            stored = session.execute(update(SignedDocument).where(
                SignedDocument.id == doc_id, SignedDocument.sha256 == old_sha).values(pdf=refreshed, sha256=new_sha)
                .execution_options(synchronize_session=False))
            if stored.rowcount != 1:
                session.rollback()
                report.busy.append(name)
                continue
            append_event(session, subject_kind=doc.subject_kind, subject_id=doc.subject_id, event="timestamped",
                         actor=actor, details={"sha256_before": old_sha, "sha256": new_sha, "level": "PAdES-B-LTA"})
            session.commit()
        report.refreshed.append(name)
    return report
