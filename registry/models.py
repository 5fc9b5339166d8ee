"""The registry's tables: organisations, people, covenants, partnerships, case tables,
declarations, cases and consents, plus the staff accounts that use the service.

Validity is always a start and an end date on the row: nothing is deleted to end an
entitlement, so the registry can answer for any past or future date. Only
DAT-information is stored (*that* someone is discussed or helped, art. 4 and 11 of the
covenant), never WAT-information (*what* the help is): there is deliberately no field
for diagnoses, treatment or case notes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from database.base import Base, UTCDateTime  # noqa: F401  (re-exported for the models' users)
from registry.crypto import EncryptedBytes, EncryptedDate, EncryptedText, keeps_resident_key


def _utcnow() -> dt.datetime:
    """Naive UTC 'now' (stored without zone so SQLite and PostgreSQL agree)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Organisation(Base):
    """An organisation that is, was or may become a partner (*convenantpartner*)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    people: Mapped[list[Person]] = relationship(back_populates="organisation")


class Person(Base):
    """A professional of an organisation (*deelnemer*, representative, chair, coordinator).

    ``employed_until`` is the last working day: the person is entitled up to and including it.
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    initials: Mapped[str] = mapped_column(String(40), default="")
    function: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    employed_from: Mapped[dt.date | None] = mapped_column(Date)
    employed_until: Mapped[dt.date | None] = mapped_column(Date)

    organisation: Mapped[Organisation] = relationship(back_populates="people")


class Covenant(Base):
    """A *Convenant Samenwerking Casustafel*: one text (template pack) signed by partners.

    ``in_force_on`` is set when the last founding partner signs, or when the coordinator
    starts it early with the partners signed so far (``started_early``).
    """

    __tablename__ = "covenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    region: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    in_force_on: Mapped[dt.date | None] = mapped_column(Date)
    started_early: Mapped[bool] = mapped_column(Boolean, default=False)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)
    # The covenant's own data (art. 1); the pack only supplies defaults.
    municipality: Mapped[str | None] = mapped_column(String(200))
    areas: Mapped[list[str] | None] = mapped_column(JSON)
    chair_model: Mapped[str | None] = mapped_column(String(20))  # a pack's chair_models

    partnerships: Mapped[list[Partnership]] = relationship(
        back_populates="covenant", order_by="Partnership.id"
    )
    tables: Mapped[list[CaseTable]] = relationship(
        back_populates="covenant", order_by="CaseTable.id"
    )

    @property
    def status(self) -> str:
        """``draft`` until it comes into force, then ``in_force`` (or ``ended``)."""
        if self.ended_on is not None:
            return "ended"
        return "in_force" if self.in_force_on is not None else "draft"


class CovenantEvaluation(Base):
    """The partners' annual evaluation of the covenant (*jaarlijkse evaluatie*, Emmen art. 12):
    held on a date, with a short note; the dashboard calls one due when none was held in
    the last 12 months (counted from coming into force for the first)."""

    __tablename__ = "covenant_evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)


class Partnership(Base):
    """An organisation's membership of a covenant (*convenantpartnerschap*).

    Founding partners are those listed when the covenant was drafted; an organisation
    added after it came into force joins by accession (*toetreding*). The end of a
    partnership is recorded, never deleted: notice (``notice_given_on`` → ``ends_on``),
    immediate termination by majority decision, or exclusion.
    """

    __tablename__ = "partnership"
    __table_args__ = (UniqueConstraint("covenant_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    founding: Mapped[bool] = mapped_column(Boolean, default=True)
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_via: Mapped[str | None] = mapped_column(String(10))  # paper | online
    notice_given_on: Mapped[dt.date | None] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_immediately_on: Mapped[dt.date | None] = mapped_column(Date)
    termination_decision: Mapped[str | None] = mapped_column(Text)
    excluded_on: Mapped[dt.date | None] = mapped_column(Date)
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    mandate: Mapped[str | None] = mapped_column(String(300))  # signed "met mandaat" of whom

    covenant: Mapped[Covenant] = relationship(back_populates="partnerships")
    organisation: Mapped[Organisation] = relationship()
    representative: Mapped[Person | None] = relationship()


class CaseTable(Base):
    """A *casustafel* of one area (*gebied*), with its chair and coordinator."""

    __tablename__ = "case_table"

    id: Mapped[int] = mapped_column(primary_key=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(200))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    covenant: Mapped[Covenant] = relationship(back_populates="tables")
    chair: Mapped[Person | None] = relationship(foreign_keys=[chair_id])
    coordinator: Mapped[Person | None] = relationship(foreign_keys=[coordinator_id])


class TableRoleHolder(Base):
    """Who holds a role the pack gives every table (e.g. *procesregisseur*), besides the
    chair and coordinator columns of :class:`CaseTable`."""

    __tablename__ = "table_role_holder"
    __table_args__ = (UniqueConstraint("table_id", "role", name="uq_table_role_holder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("case_table.id"))
    role: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))

    person: Mapped[Person] = relationship()


class Declaration(Base):
    """A confidentiality declaration (*verklaring geheimhouding*) for one table.

    ``structural`` is Bijlage 1 (a participant of a partner); ``incidental`` is Bijlage 2
    (anyone, for one case: ``case_ref``). ``signed_on`` is empty while it waits for signing.
    """

    __tablename__ = "declaration"
    __table_args__ = (
        Index("ix_declaration_person_table", "person_id", "table_id"),
        # Every column registry.queries.entitled reads, so it never visits the table rows.
        Index("ix_declaration_usable", "table_id", "kind", "case_ref", "signed_on", "revoked_on", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # structural | incidental
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    table_id: Mapped[int] = mapped_column(ForeignKey("case_table.id"), index=True)
    case_ref: Mapped[str | None] = mapped_column(String(100))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_via: Mapped[str | None] = mapped_column(String(10))  # paper | online
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    person: Mapped[Person] = relationship()
    table: Mapped[CaseTable] = relationship()


class Case(Base):
    """A case (*casus*) discussed at a table, known only by a pseudonymous reference.

    It moves through the phases of its covenant's pack (``phase``, since ``phase_since``;
    None before the first move means the pack's first phase), was brought by an
    organisation and person (*aanmelder*, *inbrenger*), may have a procesregisseur and a
    partner holding the *casusregie*, and ends with a closure (reason code, evaluation).
    ``retention_stage`` is ``active``, ``archived`` (findable, file closed) or ``erased``
    (a tombstone: the reference is replaced, only non-identifying figures remain).
    """

    __tablename__ = "case"
    __table_args__ = (UniqueConstraint("table_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("case_table.id"))
    reference: Mapped[str] = mapped_column(String(100))
    opened_on: Mapped[dt.date] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    phase: Mapped[str | None] = mapped_column(String(40))
    phase_since: Mapped[dt.date | None] = mapped_column(Date)
    track: Mapped[str | None] = mapped_column(String(10))
    brought_by_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    brought_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    procesregisseur_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    casusregie_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    close_reason: Mapped[str | None] = mapped_column(String(20))
    evaluated_on: Mapped[dt.date | None] = mapped_column(Date)
    retention_stage: Mapped[str] = mapped_column(String(10), default="active", server_default="active")
    archived_on: Mapped[dt.date | None] = mapped_column(Date)
    erased_on: Mapped[dt.date | None] = mapped_column(Date)
    retention_hold_reason: Mapped[str | None] = mapped_column(String(500))
    retention_review_on: Mapped[dt.date | None] = mapped_column(Date)

    table: Mapped[CaseTable] = relationship()
    brought_by_organisation: Mapped[Organisation | None] = relationship(foreign_keys=[brought_by_organisation_id])
    brought_by_person: Mapped[Person | None] = relationship(foreign_keys=[brought_by_person_id])
    procesregisseur: Mapped[Person | None] = relationship(foreign_keys=[procesregisseur_id])
    casusregie_organisation: Mapped[Organisation | None] = relationship(foreign_keys=[casusregie_organisation_id])
    participants: Mapped[list[CaseParticipant]] = relationship(
        back_populates="case", order_by="CaseParticipant.id", cascade="all, delete-orphan")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan")


class CaseEvent(Base):
    """One step in a case's life, with date, who and why (*verloop van de casus*):
    ``phase`` (from → to), ``closed``, ``evaluated``, ``reopened``, ``exception``
    (retention held), ``archived``. The reason is short administrative text, never WAT.
    Deleted with the case."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    on: Mapped[dt.date] = mapped_column(Date)
    from_phase: Mapped[str | None] = mapped_column(String(40))
    to_phase: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(500))
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    case: Mapped[Case] = relationship(back_populates="events")


class CaseParticipant(Base):
    """A person taking part in one case (*deelnemer aan de casus*), in a pack's case role
    (ZVH: *expert*, *informant*, *uitvoerder*); ``ad_hoc``: of a non-partner, for this
    case only, with a signed incidental declaration (Bijlage 2) for it."""

    __tablename__ = "case_participant"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[str | None] = mapped_column(String(40))
    ad_hoc: Mapped[bool] = mapped_column(Boolean, default=False)
    added_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(254))

    case: Mapped[Case] = relationship(back_populates="participants")
    person: Mapped[Person] = relationship()


class SharingBasis(Base):
    """A partner's recorded weighing of its basis for sharing in one case (art. 5 and 7:
    *grondslag voor verstrekking*): ``own_task`` (own statutory task), ``consent`` or
    ``none``; by whom and when. Deleted with the case."""

    __tablename__ = "sharing_basis"
    __table_args__ = (UniqueConstraint("case_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    basis: Mapped[str] = mapped_column(String(20))
    recorded_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(254))

    organisation: Mapped[Organisation] = relationship()


class ActionItem(Base):
    """A line of a meeting's action list (*actielijst*): who does what by when — the
    "what" is one of a fixed list of action kinds (DAT only, no WAT). Readable only by
    the meeting's entitled participants; deleted with the case."""

    __tablename__ = "action_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    action: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[dt.date] = mapped_column(Date)
    done_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(254))

    person: Mapped[Person] = relationship()


class RetentionFigure(Base):
    """What remains of deleted records (*niet-herleidbare gegevens*): counts per table,
    month and kind (``case_erased``, ``consent_erased``, ``case_not_belonging``, …)."""

    __tablename__ = "retention_figure"
    __table_args__ = (UniqueConstraint("table_id", "month", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("case_table.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    kind: Mapped[str] = mapped_column(String(30))
    count: Mapped[int] = mapped_column(Integer, default=0)


consent_recipient = Table(
    "consent_recipient",
    Base.metadata,
    Column("consent_id", ForeignKey("consent.id"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id"), primary_key=True),
)


@keeps_resident_key
class Consent(Base):
    """A resident's consent (*toestemmingsformulier*, Bijlage 4) to share named data
    categories with named organisations for a stated purpose.

    Holds from ``signed_on`` until ``withdrawn_on`` (exclusive) or the case closes. The
    resident's name and birth date are encrypted at rest (:mod:`registry.crypto`);
    ``resident_key`` (their keyed hash, filled on every insert and update) finds a
    resident's consents without decrypting them.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    signed_by: Mapped[str] = mapped_column(String(24))  # resident | parents | resident_and_parents
    resident_name: Mapped[str] = mapped_column(EncryptedText("consent.resident_name"))
    resident_birth_date: Mapped[dt.date | None] = mapped_column(EncryptedDate("consent.resident_birth_date"))
    resident_key: Mapped[str | None] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    other_recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_via: Mapped[str | None] = mapped_column(String(10))
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)
    contact_person: Mapped[str | None] = mapped_column(String(200))  # the professional's *contactpersoon*
    declined_on: Mapped[dt.date | None] = mapped_column(Date)  # a required signer declined: never valid
    erased_on: Mapped[dt.date | None] = mapped_column(Date)  # identity and documents deleted (410 erased)

    case: Mapped[Case] = relationship()
    recipients: Mapped[list[Organisation]] = relationship(
        secondary=consent_recipient, order_by="Organisation.name"
    )


@keeps_resident_key
class SubjectRequest(Base):
    """A resident's request under the AVG (*verzoek van een betrokkene*): access (art. 15),
    correction (16), erasure (17), restriction (18) or objection (21).

    ``due_on`` is the statutory deadline (received + one month, art. 12(3));
    ``covenant_id`` scopes the request to one covenant: that covenant's privacy officers
    handle it and its export and erasure reach only that covenant's tables (None: every
    covenant, an administrator's request). The register keeps the request itself — who
    asked, when, what came of it — as the controller's accountability (art. 5(2)).
    ``resident_name`` and ``resident_birth_date`` are encrypted (:mod:`registry.crypto`);
    ``resident_key`` is their keyed hash, the same as a consent's for the same resident.
    """

    __tablename__ = "subject_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # access | correction | erasure | restriction | objection
    resident_name: Mapped[str] = mapped_column(EncryptedText("subject_request.resident_name"))
    resident_birth_date: Mapped[dt.date] = mapped_column(EncryptedDate("subject_request.resident_birth_date"))
    resident_key: Mapped[str | None] = mapped_column(String(64), index=True)
    received_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    recorded_by: Mapped[str] = mapped_column(String(254))
    covenant_id: Mapped[int | None] = mapped_column(ForeignKey("covenant.id"), index=True)
    handled_on: Mapped[dt.date | None] = mapped_column(Date)
    handled_by: Mapped[str | None] = mapped_column(String(254))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    covenant: Mapped[Covenant | None] = relationship()


ROLES = ("admin", "coordinator", "chair", "partner_contact", "privacy_officer")
"""The staff roles of a grant (see :mod:`registry.access` for what each may do)."""


class User(Base):
    """A staff account (*medewerker*) that logs in to the service.

    What it may do comes only from its ``grants`` (a role with a scope); ``person_id``
    links the account to a registry person, whose entitlement at a table today decides
    whether a coordinator or chair may read that table's resident data. An empty
    ``password_hash`` means no password is set yet (an invitation) or the account logs
    in through OIDC only. ``session_epoch`` is written into every session cookie; logout
    and a password change raise it, which ends every session of the user at once.
    """

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # the last accepted TOTP step (no reuse)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    person: Mapped[Person | None] = relationship()
    grants: Mapped[list[Grant]] = relationship(
        back_populates="user", order_by="Grant.id", cascade="all, delete-orphan"
    )

    @property
    def is_admin(self) -> bool:
        """True when one of the grants is ``admin``."""
        return any(grant.role == "admin" for grant in self.grants)

    @property
    def is_active(self) -> bool:
        """False once an administrator disabled the account."""
        return self.disabled_at is None


class Grant(Base):
    """A role with a scope (*autorisatie*): what one account may do, and where.

    ``admin`` has no scope; ``coordinator`` a covenant or one table; ``chair`` one
    table; ``partner_contact`` one organisation; ``privacy_officer`` a covenant.
    """

    __tablename__ = "user_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    covenant_id: Mapped[int | None] = mapped_column(ForeignKey("covenant.id"))
    table_id: Mapped[int | None] = mapped_column(ForeignKey("case_table.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)
    created_by: Mapped[str | None] = mapped_column(String(254))

    user: Mapped[User] = relationship(back_populates="grants")

    @property
    def scope(self) -> str:
        """The scope as text for logs: ``all``, ``covenant:3``, ``table:7``, ``organisation:2``."""
        for kind, value in (("covenant", self.covenant_id), ("table", self.table_id),
                            ("organisation", self.organisation_id)):
            if value is not None:
                return f"{kind}:{value}"
        return "all"


class RecoveryCode(Base):
    """A one-time recovery code for TOTP two-factor login (stored as SHA-256 only)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AccountLink(Base):
    """A one-time link mailed to a user, e.g. to set a password after an invitation.

    Only the SHA-256 of the token is stored; ``purpose`` is ``set_password``.
    """

    __tablename__ = "account_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for the JSON API, stored only as its SHA-256 hash.

    It acts with its user's grants, works up to and including ``expires_on`` and not
    after ``revoked_at``.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship()


class AccessLogEntry(Base):
    """One entry of the access log (*toegangslog*, NEN 7513): who read which resident
    or signer data, when, in which role and on behalf of which organisation.

    Append-only and hash-chained by :mod:`registry.chain`, the same code as the
    evidence log. ``actor`` (the user's e-mail), ``ip`` and ``user_agent`` enter the
    chain through the salted ``pii_hash`` like in the evidence log.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_subject", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    role: Mapped[str | None] = mapped_column(String(20))
    scope: Mapped[str | None] = mapped_column(String(40))
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # view | print | export | search
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str | None] = mapped_column(String(300))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    pii_salt: Mapped[str | None] = mapped_column(String(32))
    pii_hash: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AccessLogHead(Base):
    """Single row (id 1): the last ``seq`` and ``chain_hash`` of the access log."""

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    chain_hash: Mapped[str] = mapped_column(String(64))


# ----------------------------------------------------------------------------- meetings
#
# A meeting (*overleg van de casustafel*) and its agenda. Deliberately no free-text field
# besides the location: a case is known only by its pseudonymous reference plus two
# coarse, enumerated labels (theme, age band), so no WAT-information can be typed in.


class Meeting(Base):
    """A planned meeting of a casustafel (*overleg*) at a date and time and place."""

    __tablename__ = "meeting"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("case_table.id"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime)  # local time, Europe/Amsterdam
    location: Mapped[str | None] = mapped_column(String(200))
    planned_by: Mapped[str | None] = mapped_column(String(254))
    on_request: Mapped[bool] = mapped_column(Boolean, default=False)  # *op afroep*, besides fixed dates
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)
    attendance_recorded_by: Mapped[str | None] = mapped_column(String(254))  # who recorded the presence
    attendance_recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC

    table: Mapped[CaseTable] = relationship()
    cases: Mapped[list[MeetingCase]] = relationship(
        back_populates="meeting", order_by="MeetingCase.position", cascade="all, delete-orphan"
    )
    invitees: Mapped[list[MeetingInvitee]] = relationship(
        back_populates="meeting", order_by="MeetingInvitee.id", cascade="all, delete-orphan"
    )

    @property
    def on(self) -> dt.date:
        """The meeting's calendar date: every check is as of this date."""
        return self.starts_at.date()


meeting_participant = Table(
    "meeting_participant",
    Base.metadata,
    Column("meeting_case_id", ForeignKey("meeting_case.id"), primary_key=True),
    Column("person_id", ForeignKey("person.id"), primary_key=True),
)


class MeetingCase(Base):
    """A case on a meeting's agenda (*agendapunt*), with the invitees that take part in it.

    ``theme`` (*thema*) and ``age_band`` (*leeftijdscategorie*) are fixed labels, never text.
    """

    __tablename__ = "meeting_case"
    __table_args__ = (UniqueConstraint("meeting_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    theme: Mapped[str | None] = mapped_column(String(20))
    age_band: Mapped[str | None] = mapped_column(String(8))
    family_roles: Mapped[list[str] | None] = mapped_column(JSON)  # pack case_participants keys, no names

    meeting: Mapped[Meeting] = relationship(back_populates="cases")
    case: Mapped[Case] = relationship()
    participants: Mapped[list[Person]] = relationship(secondary=meeting_participant, order_by="Person.id")


class MeetingInvitee(Base):
    """A person invited to a meeting (*genodigde*); per case ``MeetingCase.participants``."""

    __tablename__ = "meeting_invitee"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    attended: Mapped[bool | None] = mapped_column(Boolean)
    """Present at the meeting (*aanwezig*): recorded after it; None until recorded."""
    invited_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # UTC, the latest invitation mailed
    invitation_sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """iCalendar SEQUENCE of the latest invitation: 0 for the first, +1 for each one resent."""

    meeting: Mapped[Meeting] = relationship(back_populates="invitees")
    person: Mapped[Person] = relationship()


class NeedToKnowWithdrawal(Base):
    """A partner's statement that it no longer needs to know a case (art. 6, *geen
    noodzaak meer tot kennisname*): from ``effective_on`` it is not expected for that case.
    """

    __tablename__ = "need_to_know_withdrawal"
    __table_args__ = (UniqueConstraint("case_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    effective_on: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    case: Mapped[Case] = relationship()
    organisation: Mapped[Organisation] = relationship()


class JobRun(Base):
    """A daily job that ran (*taak uitgevoerd*): one row per job and day, inserted in the
    same transaction as the job's work, so that of several workers or app servers only
    the first runs it that day (the others fail on the unique key and skip); a failed
    run rolls its row back and the job is tried again."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    day: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)
    summary: Mapped[str | None] = mapped_column(String(200))


# Webhook events are written in the transaction of the change they report (outbox): every
# writer flushes, and every writer imports this module, so the listeners live here.
# The rules (which column change or evidence entry is which event) are signatures.webhooks.
@event.listens_for(Session, "before_flush")
def _note_webhook_changes(session, flush_context, instances) -> None:  # noqa: ARG001
    from signatures import webhooks

    webhooks.note_changes(session)


@event.listens_for(Session, "after_flush")
def _write_webhook_events(session, flush_context) -> None:  # noqa: ARG001
    from signatures import webhooks

    webhooks.write_events(session)


# ----------------------------------------------------------------------------- the covenant's life


class CovenantEvent(Base):
    """One step in a covenant's life after drafting (*verloop van het convenant*), with
    who recorded it and when: ``accession`` (toetreding sent), ``notice`` (opzegging),
    ``termination`` (directe beëindiging), ``exclusion`` (uitsluiting), ``revocation`` (a
    Bijlage 1/2 ingetrokken), ``employment_ended`` (uit dienst), ``covenant_ended``
    (the covenant itself ended), ``amendment_proposed`` / ``amendment_sent`` /
    ``amendment_in_force`` (art. 13). ``on`` is the date the step takes effect;
    ``detail`` the decision or reason as typed (never resident data)."""

    __tablename__ = "covenant_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    covenant_id: Mapped[int | None] = mapped_column(ForeignKey("covenant.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    on: Mapped[dt.date] = mapped_column(Date)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    declaration_id: Mapped[int | None] = mapped_column(ForeignKey("declaration.id"), index=True)
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("covenant_amendment.id"))
    detail: Mapped[str | None] = mapped_column(Text)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)  # notice: the first day no longer a partner
    recorded_by: Mapped[str] = mapped_column(String(254))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    organisation: Mapped[Organisation | None] = relationship()
    person: Mapped[Person | None] = relationship()


class CovenantAmendment(Base):
    """An amendment (*wijziging*, art. 13) of a covenant: a new version of its text and
    annexes. It is sent to every partner current when it was proposed (one
    :class:`AmendmentApproval` each) and is in force from the day the last of them
    that is still a partner signed (``in_force_on``); until then, and for every earlier
    date, the previous version holds."""

    __tablename__ = "covenant_amendment"
    __table_args__ = (UniqueConstraint("covenant_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    pack_version: Mapped[str | None] = mapped_column(String(40))
    proposed_on: Mapped[dt.date] = mapped_column(Date)
    proposed_by: Mapped[str] = mapped_column(String(254))
    in_force_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow)

    covenant: Mapped[Covenant] = relationship()
    approvals: Mapped[list[AmendmentApproval]] = relationship(
        back_populates="amendment", order_by="AmendmentApproval.id", cascade="all, delete-orphan")


class AmendmentApproval(Base):
    """One partner's written consent to an amendment (*schriftelijke instemming*, art. 13):
    signed by its representative on ``signed_on``."""

    __tablename__ = "amendment_approval"
    __table_args__ = (UniqueConstraint("amendment_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("covenant_amendment.id"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    representative_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_via: Mapped[str | None] = mapped_column(String(10))

    amendment: Mapped[CovenantAmendment] = relationship(back_populates="approvals")
    organisation: Mapped[Organisation] = relationship()
    representative: Mapped[Person | None] = relationship()


class DocumentCacheEntry(Base):
    """Rendered (or sealed) document bytes, stored once per exact input
    (:mod:`registry.documents.cache`): ``key`` is the SHA-256 of everything the bytes
    depend on, so a row is never stale, only unused; the worker's daily job evicts the
    oldest rows beyond the configured size."""

    __tablename__ = "document_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(EncryptedBytes("document_cache.content"))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_utcnow, index=True)
