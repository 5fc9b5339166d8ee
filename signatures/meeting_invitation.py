"""Invitations to a meeting (*uitnodiging voor het overleg*): one mail per invitee with
the meeting as an iCalendar attachment (``uitnodiging.ics``, RFC 5545 / iTIP RFC 5546
``METHOD:REQUEST``), so it lands in the invitee's calendar.

Choices where the issue is silent:

- Times are Europe/Amsterdam with a ``VTIMEZONE`` (icalendar writes it from the zone
  database), so a calendar shows the local time whatever the receiver's zone; the
  meeting lasts :data:`DURATION` (meetings have only a start in the registry).
- The ``UID`` is stable per meeting and invitee (``meeting-<id>-person-<id>@<domain>``);
  sending again raises ``SEQUENCE`` so calendars update the event instead of adding one.
- The invitation names the table, date, time and place and how many cases are on the
  agenda, never a case reference: a mail and a calendar item are read in places the
  chair's check is not.
- ``RSVP=FALSE``: the service does not read replies; presence is recorded after the
  meeting (:func:`registry.meetings.record_attendance`).

Mails go through the outbox (:func:`signatures.mail.enqueue`; the worker sends them); an invitee without
an e-mail address is skipped and reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import icalendar
from sqlalchemy.orm import Session

from registry.meetings import AMSTERDAM
from registry.models import Meeting, MeetingInvitee
from registry.texts import _, long_date
from signatures import mail
from signatures.tokens import utcnow

DURATION = dt.timedelta(hours=2)
FILENAME = "uitnodiging.ics"
PRODID = "-//forms-service//Casustafel overleg//NL"


@dataclass(frozen=True)
class InvitationResult:
    """What sending did: the invitees mailed (their outbox rows) and those without an address."""

    sent: tuple[MeetingInvitee, ...]
    without_email: tuple[MeetingInvitee, ...]


def _domain(config: Mapping[str, Any]) -> str:
    """The domain of the UIDs: the sender's, so they are unique to this service."""
    sender = config.get("MAIL_FROM") or config.get("MAIL_USERNAME") or ""
    return sender.rpartition("@")[2] or "forms-service.invalid"


def invitation_uid(config: Mapping[str, Any], meeting_id: int, person_id: int) -> str:
    """The stable iCalendar UID of one invitee's invitation to one meeting."""
    return f"meeting-{meeting_id}-person-{person_id}@{_domain(config)}"


def invitation_ics(config: Mapping[str, Any], meeting: Meeting, invitee: MeetingInvitee, *,
                   sequence: int = 0, now: dt.datetime | None = None) -> bytes:
    """The invitation as an iCalendar file (``METHOD:REQUEST``, one ``VEVENT``, ``VTIMEZONE``)."""
    start = meeting.starts_at.replace(tzinfo=AMSTERDAM)
    organizer = config.get("MAIL_FROM") or config.get("MAIL_USERNAME") or f"noreply@{_domain(config)}"
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "REQUEST")
    event = icalendar.Event()
    event.add("uid", invitation_uid(config, meeting.id, invitee.person_id))
    event.add("sequence", sequence)
    event.add("dtstamp", now or utcnow())
    event.add("dtstart", start)
    event.add("dtend", start + DURATION)
    event.add("summary", _("Overleg %(table)s", table=meeting.table.name))
    if meeting.location:
        event.add("location", meeting.location)
    cases = len(meeting.cases)
    event.add("description", (_("Overleg van %(table)s: %(n)s casus op de agenda.", table=meeting.table.name, n=cases)
                              if cases == 1 else
                              _("Overleg van %(table)s: %(n)s casussen op de agenda.", table=meeting.table.name, n=cases))
              + " " + _("De agenda met de pseudonieme casusreferenties krijgt u van de coördinator."))
    event.add("status", "CONFIRMED")
    event.add("organizer", icalendar.vCalAddress(f"mailto:{organizer}"), parameters={"cn": _("Coördinator casustafel")})
    event.add("attendee", icalendar.vCalAddress(f"mailto:{invitee.person.email}"),
              parameters={"cn": invitee.person.name, "role": "REQ-PARTICIPANT", "partstat": "NEEDS-ACTION",
                          "rsvp": "FALSE"})
    cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _body(meeting: Meeting, invitee: MeetingInvitee) -> str:
    """The text of the invitation mail in the sender's language (local time, long date)."""
    day, time = long_date(meeting.starts_at.date()), f"{meeting.starts_at:%H:%M}"
    when = (_("U bent uitgenodigd voor het overleg van %(table)s op %(day)s om %(time)s uur in %(place)s.",
              table=meeting.table.name, day=day, time=time, place=meeting.location) if meeting.location else
            _("U bent uitgenodigd voor het overleg van %(table)s op %(day)s om %(time)s uur.",
              table=meeting.table.name, day=day, time=time))
    return (
        _("Beste %(name)s,", name=invitee.person.name) + "\n\n" + when + "\n\n"
        + _("De uitnodiging zit als agenda-item (%(file)s) bij dit bericht: open het om het overleg in uw agenda "
            "te zetten. Wordt het overleg verplaatst, dan krijgt u een nieuwe uitnodiging die dit agenda-item "
            "bijwerkt.", file=FILENAME) + "\n\n"
        + _("Met vriendelijke groet,") + "\n" + _("De coördinator van de casustafel") + "\n"
    )


def send_invitations(session: Session, config: Mapping[str, Any], meeting: Meeting, *,
                     now: dt.datetime | None = None) -> InvitationResult:
    """Mail every invitee with an address the invitation and its ``.ics``; flushes, does not commit.

    Each invitee's ``invited_at`` is set and ``invitation_sequence`` raised on a resend.
    """
    now = now or utcnow()
    sent, skipped = [], []
    for invitee in meeting.invitees:
        if not invitee.person.email:
            skipped.append(invitee)
            continue
        if invitee.invited_at is not None:
            invitee.invitation_sequence = (invitee.invitation_sequence or 0) + 1
        ics = invitation_ics(config, meeting, invitee, sequence=invitee.invitation_sequence or 0, now=now)
        subject = _("Uitnodiging: overleg %(table)s op %(day)s", table=meeting.table.name,
                    day=long_date(meeting.starts_at.date()))
        mail.enqueue(session, invitee.person.email, subject,
                     _body(meeting, invitee), now=now, attachments=[mail.Attachment(FILENAME, "text/calendar", ics)])
        invitee.invited_at = now.replace(tzinfo=None) if now.tzinfo else now
        sent.append(invitee)
    session.flush()
    return InvitationResult(tuple(sent), tuple(skipped))
