"""Bulk export: every sealed PDF of a case table or a covenant as one ZIP, with an index.

What goes in follows the same rules as downloading each sealed PDF one by one
(:func:`registry.access.authorize_signing` with purpose ``copy``): a Bijlage 1/2 and
the covenant need the signing right, a Bijlage 4 (resident data) needs a coordinator or
chair whose person is entitled at its table today, and its case's phase must show it.
A document the account may not download is left out and named in ``index.csv`` with
the reason (and nothing else: no signer, no hash). Only ``sealed`` documents count
(:class:`signatures.models.SignedDocument`); a paper-only scan or one still waiting for
its seal is not in the export.

The ZIP is written by Python's :mod:`zipfile` into a sink that is emptied after every
member, so a generator yields it piece by piece: one PDF is in memory at a time, loaded
by its id when its turn comes (:func:`stream_zip`), whatever the number of documents.
PDFs are stored (they are compressed already), the index is deflated. ``index.csv``
comes last, with the SHA-256 of the bytes actually written. Nothing here knows Flask.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import access
from registry.access import Use
from registry.documents import build
from registry.errors import DomainError, Forbidden
from registry.models import Case, CaseTable, Consent, Covenant, Declaration, User
from registry.texts import N_, _
from signatures.models import SignedDocument, SigningRequest
from signatures.subjects import AMSTERDAM, amsterdam_date, declaration_title

INDEX_NAME = "index.csv"
INDEX_COLUMNS = ("bestand", "document", "soort", "id", "casustafel", "ondertekenaars", "ondertekend_op",
                 "verzegeld_op", "sha256", "opmerking")
"""``index.csv``: file in the ZIP (empty when left out), the document's pack number and
title, its kind and id, its table, the signers and their signing dates (Europe/Amsterdam,
``; ``-separated in the same order), the seal's time, SHA-256 of the file, a remark."""

KIND_FILE = {"covenant": "convenant", "declaration": "verklaring", "consent": "toestemming"}
LEFT_OUT_CONSENT = N_("Niet opgenomen: een toestemmingsformulier bevat gegevens van een inwoner, die u aan deze "
                      "casustafel niet mag inzien.")
LEFT_OUT_OTHER = N_("Niet opgenomen: u mag de ondertekende kopie van dit document niet downloaden.")


@dataclass(frozen=True)
class ExportItem:
    """One sealed document of the export: included (``filename`` and ``use`` set) or left out."""

    kind: str
    subject_id: int
    signed_document_id: int
    document: str
    table: str
    filename: str | None = None
    use: Use | None = None
    signers: tuple[str, ...] = ()
    signed_on: tuple[dt.date, ...] = ()
    sealed_at: dt.datetime | None = None
    sha256: str | None = None
    """The stored SHA-256 (the index gets the hash of the bytes written)."""
    note: str = ""

    @property
    def included(self) -> bool:
        return self.filename is not None


@dataclass(frozen=True)
class ExportPlan:
    """What a ZIP will hold, decided before the first byte is sent."""

    name: str
    """``casustafel-<id>`` or ``convenant-<id>``: the ZIP's file name without ``.zip``."""
    covenant_id: int
    items: tuple[ExportItem, ...]

    @property
    def included(self) -> tuple[ExportItem, ...]:
        return tuple(i for i in self.items if i.included)

    @property
    def left_out(self) -> tuple[ExportItem, ...]:
        return tuple(i for i in self.items if not i.included)


# ----------------------------------------------------------------------------- what goes in


def authorize_export(session: Session, user: User, target: access.Target) -> Use:
    """May the account export from here at all? It must be able to download some sealed
    PDF of it one by one: the signing right (covenant, Bijlage 1/2) or resident data
    (Bijlage 4) on the target; else the refusal of the signing right (403)."""
    try:
        return access.authorize(session, user, access.SIGNING, target)
    except Forbidden as refused:
        try:
            return access.authorize(session, user, access.RESIDENT_DATA, target)
        except Forbidden as resident_refused:
            raise resident_refused if isinstance(resident_refused, access.NotEntitled) else refused from None


def may_export(session: Session, user: User, target: access.Target) -> bool:
    """Whether :func:`authorize_export` allows it (for showing the button)."""
    try:
        authorize_export(session, user, target)
    except Forbidden:
        return False
    return True


def plan_table_export(session: Session, user: User, table: CaseTable) -> ExportPlan:
    """The sealed Bijlage 1/2 and 4 of one table, each as the account may download it."""
    authorize_export(session, user, access.table_target(session, table))
    items = _table_items(session, user, [table], folders=False)
    return ExportPlan(f"casustafel-{table.id}", table.covenant_id, tuple(items))


def plan_covenant_export(session: Session, user: User, covenant: Covenant) -> ExportPlan:
    """The sealed covenant and the sealed documents of all its tables (one folder each)."""
    authorize_export(session, user, access.covenant_target(session, covenant.id))
    items = []
    row = session.execute(_sealed().where(SignedDocument.subject_kind == "covenant",
                                          SignedDocument.subject_id == covenant.id)).first()
    if row is not None:
        items.append(_item(session, user, row, f"Convenant — {covenant.title}", "", "convenant-{id}.pdf"))
    tables = sorted(covenant.tables, key=lambda t: (t.area, t.name, t.id))
    items += _table_items(session, user, tables, folders=True)
    return ExportPlan(f"convenant-{covenant.id}", covenant.id, tuple(items))


def _sealed():
    """The metadata of sealed documents (never the PDF itself)."""
    return select(SignedDocument.id, SignedDocument.subject_kind, SignedDocument.subject_id, SignedDocument.sha256,
                  SignedDocument.sealed_at).where(SignedDocument.status == "sealed")


def _table_items(session: Session, user: User, tables: list[CaseTable], folders: bool) -> list[ExportItem]:
    items = []
    for table in tables:
        folder = f"casustafel-{table.id}/" if folders else ""
        numbers = None
        declarations = session.execute(
            _sealed().add_columns(Declaration.id.label("declaration_id"))
            .join(Declaration, Declaration.id == SignedDocument.subject_id)
            .where(SignedDocument.subject_kind == "declaration", Declaration.table_id == table.id)
            .order_by(Declaration.id)).all()
        for row in declarations:
            declaration = session.get(Declaration, row.subject_id)
            items.append(_item(session, user, row, declaration_title(declaration), table.name,
                               folder + "verklaring-{id}.pdf"))
        consents = session.execute(
            _sealed().join(Consent, Consent.id == SignedDocument.subject_id).join(Case, Case.id == Consent.case_id)
            .where(SignedDocument.subject_kind == "consent", Case.table_id == table.id)
            .order_by(Consent.id)).all()
        for row in consents:
            consent = session.get(Consent, row.subject_id)
            numbers = numbers or build.annex_heading(build.consent_annex(consent))
            items.append(_item(session, user, row, f"{numbers}, casus {consent.case.reference}", table.name,
                               folder + "toestemming-{id}.pdf", erased=consent.erased_on is not None))
    return items


def _item(session: Session, user: User, row, document: str, table: str, filename: str,
          erased: bool = False) -> ExportItem:
    """Included when the account may download this sealed PDF on its own, else left out."""
    base = dict(kind=row.subject_kind, subject_id=row.subject_id, signed_document_id=row.id, table=table)
    if erased:
        return ExportItem(document=document, note="Niet opgenomen: gewist.", **base)
    try:
        use = access.authorize_signing(session, user, row.subject_kind, row.subject_id, "copy")
    except DomainError as refused:
        if row.subject_kind == "consent":
            # the title may name the case; the reason stays general (no resident data)
            return ExportItem(document=document.split(",")[0], note=_(LEFT_OUT_CONSENT), **base)
        note = (_(LEFT_OUT_OTHER) if isinstance(refused, Forbidden)
                else _("Niet opgenomen: %(reason)s", reason=refused.message))
        return ExportItem(document=document, note=note, **base)
    signed = session.execute(
        select(SigningRequest.signer_name, SigningRequest.signed_at)
        .where(SigningRequest.subject_kind == row.subject_kind, SigningRequest.subject_id == row.subject_id,
               SigningRequest.status == "signed")
        .order_by(SigningRequest.signed_at, SigningRequest.id)).all()
    return ExportItem(document=document, filename=filename.format(id=row.subject_id), use=use,
                      signers=tuple(name for name, _ in signed),
                      signed_on=tuple(amsterdam_date(at) for _, at in signed if at is not None),
                      sealed_at=row.sealed_at, sha256=row.sha256, **base)


# ----------------------------------------------------------------------------- the ZIP


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what was written until it is drained."""

    def __init__(self):
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def _zip_time(moment: dt.datetime | None) -> tuple:
    """A ZIP member's time: the seal's Europe/Amsterdam time (ZIP has no time zone)."""
    if moment is None:
        return (1980, 1, 1, 0, 0, 0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    local = moment.astimezone(AMSTERDAM)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def stream_zip(session: Session, plan: ExportPlan) -> Iterator[bytes]:
    """The ZIP of ``plan``, a piece per member; each PDF is read from the database only
    when it is written, and dropped after."""
    sink = _Sink()
    hashes: dict[int, str] = {}
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for item in plan.included:
            pdf = session.scalar(select(SignedDocument.pdf).where(SignedDocument.id == item.signed_document_id))
            hashes[item.signed_document_id] = hashlib.sha256(pdf).hexdigest()
            archive.writestr(zipfile.ZipInfo(item.filename, _zip_time(item.sealed_at)), pdf)
            del pdf
            yield sink.drain()
        info = zipfile.ZipInfo(INDEX_NAME, _zip_time(max((i.sealed_at for i in plan.included if i.sealed_at),
                                                         default=None)))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, index_csv(plan, hashes))
    yield sink.drain()


def index_csv(plan: ExportPlan, hashes: dict[int, str] | None = None) -> bytes:
    """``index.csv`` (UTF-8, comma-separated, a header row): one row per document,
    included or left out. ``hashes`` are the SHA-256 of the bytes written, by
    signed-document id (default: the stored ones)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INDEX_COLUMNS)
    for item in plan.items:
        if item.included:
            sealed = item.sealed_at.astimezone(AMSTERDAM).isoformat(timespec="seconds") if item.sealed_at else ""
            writer.writerow((item.filename, item.document, item.kind, item.subject_id, item.table,
                             "; ".join(item.signers), "; ".join(d.isoformat() for d in item.signed_on), sealed,
                             (hashes or {}).get(item.signed_document_id, item.sha256 or ""), item.note))
        else:
            writer.writerow(("", item.document, item.kind, item.subject_id, item.table, "", "", "", "", item.note))
    return out.getvalue().encode("utf-8")
