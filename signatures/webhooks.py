"""Webhooks: tell other systems (a municipality's case system) what happened, signed.

Three parts, no Flask:

* **Subscriptions** (admin): a URL, the events wanted and a secret (stored encrypted,
  never shown again). A URL must be ``http(s)://`` without user:password, and its host
  must be public: local names and private, loopback, link-local, shared, multicast,
  reserved and unspecified addresses are refused unless ``WEBHOOK_ALLOW_PRIVATE=1`` —
  literal addresses when subscribing, every resolved address at delivery.
* **Events, written as an outbox.** Every change the events report already passes one
  place: the database flush. :func:`note_changes` (before the flush) sees a registry
  column go from empty to a date (``Declaration.signed_on``, ``Consent.withdrawn_on``,
  ``Partnership.ends_on``, ``Case.closed_on``, …) or a new entry of the evidence log
  (``sealed``, ``declined``); :func:`write_events` (after the flush, with the new ids)
  writes one ``webhook_events`` row and one ``webhook_deliveries`` row per subscription
  that wants it, on the same connection — so the event commits or rolls back with the
  change itself, whichever writer (API, web page, CLI, worker) made it. No subscription:
  nothing is written. The listeners are registered in :mod:`registry.models`, which
  every writer imports.
* **Delivery by the worker** (:func:`deliver_due`, never in a request): ``POST url`` with
  the stored body, ``X-Webhook-Timestamp`` and ``X-Webhook-Signature: sha256=<hex
  HMAC-SHA256(secret, timestamp + "." + body)>``; only a 2xx answer counts; redirects are
  not followed, proxies from the environment are not used. A failure is retried with
  exponential backoff (``WEBHOOK_RETRY_SECONDS`` × 2^(attempt−1), at most an hour)
  until ``WEBHOOK_MAX_ATTEMPTS``, then ``failed``. The address is checked again at
  connect time, on the very address the socket connects to (no second DNS lookup a
  rebinding name could answer differently).

Exactly once per worker round, at least once overall: a worker claims a delivery with a
conditional ``UPDATE ... WHERE claimed_until is past`` (a lease, committed before the
POST); only the claim's holder records the outcome. A worker killed during a POST
leaves the lease to run out and the delivery is tried again, so a receiver may see an
event twice: it deduplicates on the payload's ``id``.

Payloads carry ids, statuses and the dates of the change only — never a resident's
name, birth date, case reference or any free text.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import inspect, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from registry.errors import NotFound, ValidationError
from registry.texts import N_, _
from signatures.models import WebhookDelivery, WebhookEvent, WebhookSubscription

log = logging.getLogger(__name__)

EVENTS: dict[str, str] = {
    "covenant.in_force": N_("Convenant in werking getreden"),
    "covenant.sealed": N_("Convenant ondertekend en verzegeld"),
    "partner.signed": N_("Partner heeft het convenant ondertekend"),
    "partner.ended": N_("Partnerschap beëindigd (opzegging, directe beëindiging of uitsluiting)"),
    "declaration.signed": N_("Verklaring geheimhouding (Bijlage 1/2) getekend"),
    "declaration.sealed": N_("Verklaring geheimhouding verzegeld"),
    "declaration.revoked": N_("Verklaring geheimhouding ingetrokken"),
    "consent.signed": N_("Toestemming (Bijlage 4) getekend"),
    "consent.sealed": N_("Toestemming verzegeld"),
    "consent.withdrawn": N_("Toestemming ingetrokken"),
    "signing.declined": N_("Ondertekening geweigerd"),
    "case.closed": N_("Casus afgesloten"),
}
"""The events a subscription may ask for, with their Dutch label (web page; marked ``N_``, shown through ``forms_service.i18n.labels``)."""

COLUMN_EVENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "covenant": (("in_force_on", "covenant.in_force"),),
    "partnership": (("signed_on", "partner.signed"), ("ends_on", "partner.ended"),
                    ("ended_immediately_on", "partner.ended"), ("excluded_on", "partner.ended")),
    "declaration": (("signed_on", "declaration.signed"), ("revoked_on", "declaration.revoked")),
    "consent": (("signed_on", "consent.signed"), ("withdrawn_on", "consent.withdrawn")),
    "case": (("closed_on", "case.closed"),),
}
"""Registry table → (column, event): the event fires when the column goes from empty to a value."""

SEALED_KINDS = ("covenant", "declaration", "consent")

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_RETRY_SECONDS = 30
MAX_BACKOFF_SECONDS = 3600
LEASE_MARGIN_SECONDS = 30
BATCH = 50
"""At most this many deliveries per worker round, so one round stays short."""

MIN_SECRET, MAX_SECRET, MAX_URL = 16, 200, 2000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ----------------------------------------------------------------------------- addresses


def address_problem(address: str, allow_private: bool = False) -> str | None:
    """Why a webhook may not go to this IP address (Dutch), or None when it may.

    Refused: private (RFC 1918, fc00::/7), loopback, link-local, shared (100.64/10),
    multicast, reserved, unspecified and every other non-global address; an IPv4 address
    inside IPv6 (``::ffff:10.0.0.1``) is judged as the IPv4 address.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is geen IP-adres."
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return None
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved \
            or ip.is_unspecified or not ip.is_global:
        return (f"Adres {ip} is een privé-, loopback-, link-local- of gereserveerd adres; "
                "dat mag alleen met WEBHOOK_ALLOW_PRIVATE=1.")
    return None


LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa", ".localdomain",
                  ".invalid", ".test", ".example")
"""Host-name endings that never name a public receiver (RFC 2606/6761/6762/8375 and common use)."""


def resolve(host: str, port: int, timeout: float = 3.0) -> list[str]:
    """Every address ``host`` resolves to (empty when it does not resolve within ``timeout``)."""
    found: list[str] = []

    def lookup() -> None:
        try:
            found.extend(sorted({info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}))
        except (OSError, UnicodeError):
            pass

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return list(found) if not thread.is_alive() else []


def url_problem(url: Any, allow_private: bool = False) -> str | None:
    """Why ``url`` cannot receive webhooks (Dutch), or None. Does not resolve host names (see
    :func:`_guarded_session_class` for the check at delivery)."""
    if not isinstance(url, str) or not url.strip():
        return "Vul de URL in."
    url = url.strip()
    if len(url) > MAX_URL:
        return f"Te lang (maximaal {MAX_URL} tekens)."
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "Geen geldige URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Gebruik een URL die begint met https:// (of http://) en een host noemt."
    if parts.username is not None or parts.password is not None:
        return "Zet geen gebruikersnaam of wachtwoord in de URL; de ontvanger controleert de handtekening."
    if any(ch.isspace() for ch in url) or parts.fragment:
        return "Geen geldige URL (spaties of #-deel)."
    host = parts.hostname.rstrip(".").lower()
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        # A name is not resolved here: a request does no network I/O (DNS included).
        # Names that are local by definition are refused now; every other name is
        # resolved and checked by the worker on the address it connects to.
        if not allow_private and ("." not in host or host.endswith(LOCAL_SUFFIXES)):
            return f"De host {host} is geen openbare naam; gebruik het openbare adres van de ontvanger."
        addresses = []
    for address in addresses:
        problem = address_problem(address, allow_private)
        if problem:
            return problem
    return None


# ----------------------------------------------------------------------------- subscriptions


def _check_events(events: Any) -> str | None:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        return "Kies één of meer gebeurtenissen: " + ", ".join(EVENTS) + "."
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        return "Onbekende gebeurtenis: " + ", ".join(unknown[:5]) + ". Kies uit: " + ", ".join(EVENTS) + "."
    return None


def create_subscription(session: Session, *, url: Any, events: Any, secret: Any, by: str | None,
                        allow_private: bool = False) -> WebhookSubscription:
    """Subscribe ``url`` to ``events`` with ``secret`` (flushed, not committed); 422 naming the bad fields."""
    errors = {}
    if problem := url_problem(url, allow_private):
        errors["url"] = problem
    if problem := _check_events(events):
        errors["events"] = problem
    if not isinstance(secret, str) or not MIN_SECRET <= len(secret) <= MAX_SECRET:
        errors["secret"] = _("Een geheim van %(min)s tot %(max)s tekens.", min=MIN_SECRET, max=MAX_SECRET)
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)
    row = WebhookSubscription(url=url.strip(), events=list(dict.fromkeys(events)), secret=secret, created_by=by,
                              created_at=_now())
    session.add(row)
    session.flush()
    return row


def subscriptions(session: Session) -> list[WebhookSubscription]:
    """The subscriptions in force, oldest first."""
    return list(session.scalars(select(WebhookSubscription).where(WebhookSubscription.removed_at.is_(None))
                                .order_by(WebhookSubscription.id)))


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """A subscription in force, or 404 naming ``webhook_id``."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or row.removed_at is not None:
        raise NotFound(_("Webhook %(id)s bestaat niet.", id=subscription_id), {"webhook_id": _("Bestaat niet.")})
    return row


def remove_subscription(session: Session, row: WebhookSubscription) -> None:
    """Stop a subscription: its secret is blanked, waiting deliveries are cancelled; the
    row and its delivery log stay (flushed, not committed)."""
    row.removed_at, row.secret = _now(), None
    session.execute(update(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id,
                                                  WebhookDelivery.status == "pending")
                    .values(status="cancelled", claim_token=None, claimed_until=None)
                    .execution_options(synchronize_session=False))
    session.flush()


@dataclass(frozen=True)
class LogLine:
    """One line of a subscription's delivery log."""

    id: int
    event: str
    event_id: str
    status: str
    attempts: int
    at: dt.datetime
    response_status: int | None
    error: str | None
    next_attempt_at: dt.datetime | None


def delivery_log(session: Session, row: WebhookSubscription, limit: int = 200) -> list[LogLine]:
    """The subscription's deliveries, newest first; ``at`` is the last attempt (or when queued)."""
    rows = session.execute(select(WebhookDelivery, WebhookEvent.event)
                           .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
                           .where(WebhookDelivery.subscription_id == row.id)
                           .order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [LogLine(d.id, event, d.event_id, d.status, d.attempts, d.last_attempt_at or d.created_at,
                    d.response_status, d.last_error, d.next_attempt_at if d.status == "pending" else None)
            for d, event in rows]


# ----------------------------------------------------------------------------- emission (outbox)


def _became_set(session: Session, obj: Any, column: str) -> bool:
    """Did ``column`` of ``obj`` go from empty to a value in this flush?"""
    state = inspect(obj)
    history = state.attrs[column].history
    if not history.added or history.added[-1] is None:
        return False
    if state.key is None:  # a new row
        return True
    if history.deleted:
        return history.deleted[0] is None
    # The old value was never loaded: the database still holds it before the flush.
    table = type(obj).__table__
    return session.connection().execute(
        select(table.c[column]).where(table.c.id == state.identity[0])).scalar() is None


def note_changes(session: Session) -> None:
    """Before a flush: remember which changes in it are webhook events (see the module)."""
    due: list[tuple[Any, str, str]] = []
    for obj in list(session.new) + list(session.dirty):
        table = getattr(obj, "__tablename__", None)
        if table == "evidence_events" and inspect(obj).key is None:
            event = _evidence_event(obj)
            if event:
                due.append((obj, event, ""))
            continue
        for column, event in COLUMN_EVENTS.get(table, ()):
            if _became_set(session, obj, column):
                due.append((obj, event, column))
    session.info["webhook_due"] = due


def _evidence_event(entry: Any) -> str | None:
    """The webhook event an evidence-log entry is, if any: the final document stored
    (``sealed``, or ``paper_recorded`` without a request: all signatures on paper), or a
    signer who declined."""
    if entry.subject_kind in SEALED_KINDS and (
            entry.event == "sealed" or (entry.event == "paper_recorded" and entry.request_id is None)):
        return f"{entry.subject_kind}.sealed"
    if entry.event == "declined":
        return "signing.declined"
    return None


def write_events(session: Session) -> None:
    """After a flush: write the remembered events and their deliveries on the flush's
    connection (same transaction), for the subscriptions that want them."""
    due = session.info.pop("webhook_due", None)
    if not due:
        return
    conn = session.connection()
    table = WebhookSubscription.__table__
    wanted = conn.execute(select(table.c.id, table.c.events).where(table.c.removed_at.is_(None))).all()
    if not wanted:
        return
    now = _now()
    for obj, event, column in due:
        targets = [sid for sid, events in wanted if event in (events or [])]
        if not targets:
            continue
        event_id = str(uuid.uuid4())
        body = json.dumps({"event": event, "id": event_id, "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "data": _data(conn, obj, event, column)}, sort_keys=True, separators=(",", ":"))
        conn.execute(WebhookEvent.__table__.insert().values(id=event_id, event=event, occurred_at=now, body=body))
        conn.execute(WebhookDelivery.__table__.insert(), [
            {"subscription_id": sid, "event_id": event_id, "status": "pending", "attempts": 0,
             "next_attempt_at": now, "created_at": now} for sid in targets])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _case_id(conn, table_id: int, reference: str | None) -> int | None:
    from registry.models import Case

    if not reference:
        return None
    return conn.execute(select(Case.__table__.c.id).where(Case.__table__.c.table_id == table_id,
                                                          Case.__table__.c.reference == reference)).scalar()


def _data(conn, obj: Any, event: str, column: str) -> dict[str, Any]:
    """The payload's ``data``: ids, statuses and the date of the change — no personal data of residents."""
    from registry.models import Case

    kind = obj.__tablename__
    if kind == "evidence_events":
        if event == "signing.declined":
            return {"signing_request_id": obj.request_id, "subject_kind": obj.subject_kind,
                    "subject_id": obj.subject_id, "status": "declined"}
        return {f"{obj.subject_kind}_id": obj.subject_id,
                "status": "sealed" if obj.event == "sealed" else "paper"}
    if kind == "covenant":
        return {"covenant_id": obj.id, "status": "in_force", "in_force_on": _iso(obj.in_force_on)}
    if kind == "partnership":
        if column == "signed_on":
            return {"covenant_id": obj.covenant_id, "organisation_id": obj.organisation_id, "status": "signed",
                    "signed_on": _iso(obj.signed_on)}
        status = {"ends_on": "notice_given", "ended_immediately_on": "terminated", "excluded_on": "excluded"}[column]
        return {"covenant_id": obj.covenant_id, "organisation_id": obj.organisation_id, "status": status,
                "ends_on": _iso(getattr(obj, column))}
    if kind == "declaration":
        status = "signed" if column == "signed_on" else "revoked"
        return {"declaration_id": obj.id, "kind": obj.kind, "table_id": obj.table_id, "person_id": obj.person_id,
                "case_id": _case_id(conn, obj.table_id, obj.case_ref), "status": status,
                column: _iso(getattr(obj, column))}
    if kind == "consent":
        cases = Case.__table__
        table_id = conn.execute(select(cases.c.table_id).where(cases.c.id == obj.case_id)).scalar()
        status = "signed" if column == "signed_on" else "withdrawn"
        return {"consent_id": obj.id, "case_id": obj.case_id, "table_id": table_id, "status": status,
                column: _iso(getattr(obj, column))}
    if kind == "case":
        return {"case_id": obj.id, "table_id": obj.table_id, "status": "closed", "closed_on": _iso(obj.closed_on),
                "reason": obj.close_reason}
    return {}


# ----------------------------------------------------------------------------- delivery (the worker)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The webhook settings of a configuration, with defaults."""
    flag = str(config.get("WEBHOOK_ALLOW_PRIVATE") or "").strip().lower() in {"1", "true", "yes", "on"}
    return {"allow_private": flag,
            "timeout": float(config.get("WEBHOOK_TIMEOUT") or DEFAULT_TIMEOUT),
            "max_attempts": int(config.get("WEBHOOK_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS),
            "retry_seconds": float(DEFAULT_RETRY_SECONDS if config.get("WEBHOOK_RETRY_SECONDS") in (None, "")
                                   else config.get("WEBHOOK_RETRY_SECONDS"))}


def backoff(attempts: int, retry_seconds: float) -> dt.timedelta:
    """Wait before the next attempt after ``attempts`` tries: doubling, at most an hour."""
    return dt.timedelta(seconds=min(retry_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


@functools.cache
def _guarded_session_class(allow_private: bool):
    """A ``requests`` session whose every connection checks the address it connects to.

    urllib3 resolves the host when it opens a socket; here that step resolves, checks
    every address and connects to a checked one, so a name that resolves to a public
    address for the check and to 127.0.0.1 a moment later (DNS rebinding) gets nowhere.
    TLS still verifies the certificate against the host name.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import NewConnectionError
    from urllib3.util import connection as util_connection

    class Guard:
        def _new_conn(self):  # noqa: ANN202 — urllib3's hook
            host = self._dns_host
            try:
                addresses = [str(ipaddress.ip_address(host.strip("[]")))]
            except ValueError:
                addresses = resolve(host, self.port, timeout=self.timeout if isinstance(self.timeout, (int, float)) else 3.0)
            if not addresses:
                raise NewConnectionError(self, f"host {host} not found")
            for address in addresses:
                if address_problem(address, allow_private):
                    raise NewConnectionError(self, f"blocked address {address} for {host}")
            failure: OSError | None = None
            for address in addresses:  # every one checked above: try them in turn
                try:
                    return util_connection.create_connection((address, self.port), self.timeout,
                                                             source_address=self.source_address,
                                                             socket_options=self.socket_options)
                except OSError as exc:
                    failure = exc
            raise NewConnectionError(self, f"connection to {host} failed: {failure}")

    class GuardedHTTP(Guard, HTTPConnection):
        pass

    class GuardedHTTPS(Guard, HTTPSConnection):
        pass

    class HTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTP

    class HTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPS

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": HTTPPool, "https": HTTPSPool}

    class GuardedSession(requests.Session):
        def __init__(self):
            super().__init__()
            self.trust_env = False  # no proxy from the environment: the check is on the real peer
            self.mount("http://", Adapter(max_retries=0))
            self.mount("https://", Adapter(max_retries=0))

    return GuardedSession


def post(url: str, body: bytes, secret: str, *, timeout: float, allow_private: bool,
         now: dt.datetime | None = None) -> tuple[int | None, str | None]:
    """POST one signed delivery; ``(status, error)`` — status None when no answer came."""
    import requests

    timestamp = str(int((now or _now()).timestamp()))
    headers = {"Content-Type": "application/json", "User-Agent": "forms-service-webhooks/1",
               "X-Webhook-Timestamp": timestamp, "X-Webhook-Signature": signature(secret, timestamp, body)}
    with _guarded_session_class(allow_private)() as http:
        try:
            response = http.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        response.close()  # the answer's body is not read: only the status counts
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _claim(session_factory: sessionmaker, delivery_id: int, lease: float, now: dt.datetime) -> str | None:
    """Take one due delivery (committed, counting the attempt), or None when another worker has it."""
    claim = secrets.token_hex(16)
    table = WebhookDelivery.__table__
    with session_factory() as session:
        result = session.execute(update(table).where(
            table.c.id == delivery_id, table.c.status == "pending", table.c.next_attempt_at <= now,
            or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
        ).values(claim_token=claim, claimed_until=now + dt.timedelta(seconds=lease), attempts=table.c.attempts + 1,
                 last_attempt_at=now))
        session.commit()
    return claim if result.rowcount == 1 else None


def _record(session_factory: sessionmaker, delivery_id: int, claim: str, status: int | None, error: str | None,
            options: dict[str, Any], now: dt.datetime) -> str:
    """Store the outcome if our claim still holds: ``delivered``, ``retrying`` or ``failed``."""
    table = WebhookDelivery.__table__
    with session_factory() as session:
        attempts = session.execute(select(table.c.attempts).where(table.c.id == delivery_id)).scalar() or 0
        if error is None:
            values, outcome = {"status": "delivered", "delivered_at": now}, "delivered"
        elif attempts >= options["max_attempts"]:
            values, outcome = {"status": "failed"}, "failed"
        else:
            values = {"next_attempt_at": now + backoff(attempts, options["retry_seconds"])}
            outcome = "retrying"
        result = session.execute(update(table).where(table.c.id == delivery_id, table.c.claim_token == claim)
                                 .values(response_status=status, last_error=error, claim_token=None,
                                         claimed_until=None, **values))
        session.commit()
    return outcome if result.rowcount == 1 else "busy"


def deliver_due(session_factory: sessionmaker, config: Mapping[str, Any], *, now: dt.datetime | None = None,
                limit: int = BATCH) -> dict[str, int]:
    """The worker's round: POST every due delivery (at most ``limit``); counts per outcome.

    No transaction is open during a POST: the claim is committed first, the outcome after.
    """
    options = settings(config)
    moment = now or _now()
    table = WebhookDelivery.__table__
    with session_factory() as session:
        due = session.scalars(select(table.c.id).where(
            table.c.status == "pending", table.c.next_attempt_at <= moment,
            or_(table.c.claimed_until.is_(None), table.c.claimed_until < moment),
        ).order_by(table.c.next_attempt_at, table.c.id).limit(limit)).all()
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "busy": 0}
    for delivery_id in due:
        counts[deliver_one(session_factory, delivery_id, options, now=now)] += 1
    return counts


def deliver_one(session_factory: sessionmaker, delivery_id: int, options: dict[str, Any], *,
                now: dt.datetime | None = None) -> str:
    """Claim, POST and record one delivery; ``busy`` when another worker holds it."""
    moment = now or _now()
    claim = _claim(session_factory, delivery_id, options["timeout"] * 2 + LEASE_MARGIN_SECONDS, moment)
    if claim is None:
        return "busy"
    with session_factory() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        subscription = session.get(WebhookSubscription, delivery.subscription_id)
        body = session.get(WebhookEvent, delivery.event_id).body.encode("utf-8")
        url, secret = subscription.url, subscription.secret
    if secret is None:  # removed meanwhile
        status, error = None, "abonnement verwijderd"
        options = {**options, "max_attempts": 0}
    else:
        status, error = post(url, body, secret, timeout=options["timeout"], allow_private=options["allow_private"],
                             now=now)
    if error:
        log.warning("webhook delivery %s to subscription %s failed: %s", delivery_id, subscription.id, error)
    return _record(session_factory, delivery_id, claim, status, error, options, now or _now())
