"""A signed link after signing: the thank-you page with the sealed copy for
SIGNED_COPY_DAYS after the signature (independent of the link's expiry), then 410 with
a Dutch explanation; the completion mail promises exactly that period. The real
signing flow (invitation mail, form, seal)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update

from registry import texts
from signatures.models import SigningRequest
from tests import signing_support as support


@pytest.fixture
def signed(api, client):
    """A covenant with one partner, signed through the form and sealed by the worker; returns (covenant_id, rep, link)."""
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    assert support.sign_via_form(client, link, reps[0]["name"]).status_code == 303
    assert support.worker_round(api)["sealed"] == 1
    return covenant_id, reps[0], link


def _move(app_session, **values):
    app_session.execute(update(SigningRequest).values(**values))
    app_session.commit()


def _signed_at(app_session) -> dt.datetime:
    app_session.expire_all()
    return app_session.scalar(select(SigningRequest.signed_at))


def test_signed_link_shows_thanks_and_copy_even_after_the_link_expired(client, app_session, signed):
    _cov, _rep, link = signed
    path = support.path_of(link)
    _move(app_session, expires_at=dt.datetime(2020, 1, 1))  # the invitation's expiry does not matter any more
    opened = client.get(path)
    assert opened.status_code == 303 and opened.headers["Location"].endswith(path + "/klaar")
    thanks = client.get(path + "/klaar")
    assert thanks.status_code == 200 and "Dank u wel" in thanks.get_data(as_text=True)
    assert "30 dagen na het ondertekenen" in thanks.get_data(as_text=True)
    copy = client.get(path + "/ondertekend.pdf")
    assert copy.status_code == 200 and copy.data.startswith(b"%PDF")


def test_after_signed_copy_days_the_link_answers_410_in_dutch(client, app_session, signed):
    _cov, _rep, link = signed
    path = support.path_of(link)
    _move(app_session, signed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=30, minutes=1),
          expires_at=dt.datetime(2099, 1, 1))  # a far expiry does not keep it open either
    for suffix in ("/klaar", "/ondertekend.pdf", "/document.pdf", "/voorbeeld"):
        response = client.get(path + suffix)
        assert response.status_code == 410, suffix
        text = response.get_data(as_text=True)
        assert "30 dagen na het ondertekenen" in text and "termijn is voorbij" in text and 'data-code="copy_expired"' in text
    follow = client.get(path, follow_redirects=True)
    assert follow.status_code == 410 and "termijn is voorbij" in follow.get_data(as_text=True)


def test_just_inside_the_period_it_still_works(client, app_session, signed):
    _cov, _rep, link = signed
    _move(app_session, signed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=29, hours=23))
    assert client.get(support.path_of(link) + "/ondertekend.pdf").status_code == 200


def test_the_period_is_configurable(app, client, app_session, signed):
    _cov, _rep, link = signed
    app.config["SIGNED_COPY_DAYS"] = 3
    _move(app_session, signed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=3, minutes=1))
    response = client.get(support.path_of(link) + "/klaar")
    assert response.status_code == 410 and "3 dagen na het ondertekenen" in response.get_data(as_text=True)
    app.config["SIGNED_COPY_DAYS"] = 4
    assert client.get(support.path_of(link) + "/klaar").status_code == 200


@pytest.mark.parametrize("days", [30, 7])
def test_completion_mail_promises_exactly_the_period(app, api, client, app_session, days):
    app.config["SIGNED_COPY_DAYS"] = days
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    assert support.sign_via_form(client, link, reps[0]["name"]).status_code == 303
    assert support.worker_round(api)["sealed"] == 1  # the worker seals and writes the notice
    sealed = [m for m in api.get("/api/v1/outbox").json["messages"] if m["subject"].startswith("Ondertekend en verzegeld")]
    assert len(sealed) == 1
    body = sealed[0]["body"]
    until = _signed_at(app_session).replace(tzinfo=None) + dt.timedelta(days=days)
    assert f"tot {days} dagen na uw ondertekening" in body
    assert texts.local_time(until) in body  # Europe/Amsterdam, "9 december 2026 05:24"
    assert not re.search(r"/onderteken/[A-Za-z0-9_-]{22,}", body)  # the notice itself carries no link


def test_an_unsigned_expired_link_stays_expired(api, client, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    _move(app_session, expires_at=dt.datetime(2020, 1, 1))
    path = support.path_of(link)
    response = client.get(path)
    assert response.status_code == 410 and "Deze link is verlopen" in response.get_data(as_text=True)
    for suffix in ("/klaar", "/ondertekend.pdf"):
        assert client.get(path + suffix).status_code == 410
