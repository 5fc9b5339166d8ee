"""Bad input never gives a 500, on SQLite and on PostgreSQL: ids outside 1 … 2³¹−1, NUL
bytes and lone surrogates, dates whose sums would leave the calendar, JSON nested too
deep, an oversized drawn signature. Every refusal is a 4xx that names the field."""

from __future__ import annotations

import base64
import re
import struct
import zlib

import pytest

from forms_service.security import IdConverter
from tests import signing_support as support

BAD_PATH_IDS = ["0", "-1", str(2**31), str(2**63), str(2**64), "00", "1e3", "²"]


@pytest.fixture
def world(api):
    """Organisation, person, a covenant in force with one partner, a table, a declaration, a meeting."""
    org = api.post("/api/v1/organisations", {"name": "GGD Drenthe"}).json
    rep = api.post("/api/v1/people", {"name": "Rep", "initials": "R.", "organisation_id": org["id"], "function": "Directeur",
                                      "email": "rep@ggd.example"}).json
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant", "region": "Emmen"}).json
    assert api.post(f"/api/v1/covenants/{cov['id']}/partners", {"organisation_id": org["id"], "representative_id": rep["id"],
                                                                 "signed_on": "2025-05-01"}).status_code == 201
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "Noord", "area": "Emmen-Noord"}).json
    decl = api.post("/api/v1/declarations", {"kind": "structural", "person_id": rep["id"], "table_id": table["id"],
                                             "signed_on": "2025-05-02"}).json
    meeting = api.post("/api/v1/meetings", {"table_id": table["id"], "starts_at": "2026-03-10T14:00",
                                            "cases": [{"case_ref": "EN-1", "invitee_ids": [rep["id"]]}]})
    assert meeting.status_code == 201, meeting.json
    return {"org": org["id"], "person": rep["id"], "covenant": cov["id"], "table": table["id"], "declaration": decl["id"],
            "meeting": meeting.json["id"]}


def _refused(response, status: int, *fields: str):
    """A 4xx (never 500) of the given status whose JSON error names every field."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    for field in fields:
        assert field in error["fields"], (field, error)


# ----------------------------------------------------------------------------- ids


def _fill(rule, bad: str) -> str:
    """The rule's path with every int argument ``bad`` and any other argument a harmless word."""
    def repl(match):
        converter = match.group(1) or ""
        return bad if converter.startswith("int") else "x"
    return re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?[a-z_]+>", repl, rule.rule)


def test_every_route_with_an_id_answers_404_for_ids_outside_the_range(app, api):
    """The fuzz loop: every route of app.url_map that takes an id (API and pages), every method."""
    rules = [r for r in app.url_map.iter_rules() if any(isinstance(c, IdConverter) for c in r._converters.values())]
    assert len(rules) > 30 and any(r.rule.startswith("/api/v1") for r in rules)
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for bad in BAD_PATH_IDS:
                path = _fill(rule, bad)
                response = api.client.open(path, method=method, headers=api.headers, json={} if method == "POST" else None)
                assert response.status_code == 404, (method, path, response.status_code)
                if path.startswith("/api/"):
                    assert response.json["error"]["code"] == "not_found"


BAD_PATH_WORDS = ["a%00b", "%00", "%ED%A0%80", "%C0%80", "..", "x" * 300]


def test_every_route_survives_bad_words_in_its_path(app, api, world):
    """String arguments (tokens, kinds, packs, forms) with NUL, broken UTF-8, dots, length: never a 500."""
    rules = [r for r in app.url_map.iter_rules()
             if any(not isinstance(c, IdConverter) for c in r._converters.values()) and r.endpoint != "static"]
    assert rules
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for bad in BAD_PATH_WORDS:
                path = re.sub(r"<(?:([a-z]+)(?:\([^)]*\))?:)?[a-z_]+>",
                              lambda m: "1" if (m.group(1) or "").startswith("int") else bad, rule.rule)
                response = api.client.open(path, method=method, headers=api.headers)
                assert response.status_code < 500, (method, path, response.status_code)


def test_largest_id_is_an_ordinary_404(api, world):
    assert api.get(f"/api/v1/people/{2**31 - 1}/tables").status_code == 404
    assert api.get(f"/api/v1/tables/{world['table']}/entitled").status_code == 200


@pytest.mark.parametrize("bad", [0, -1, 2**31, 2**63, 2**64, 1.5, True, "x", "0", str(2**31), "9" * 5000])
def test_ids_in_json_bodies_are_422_naming_the_field(api, world, bad):
    _refused(api.post("/api/v1/people", {"name": "N", "organisation_id": bad, "function": "f"}), 422, "organisation_id")
    _refused(api.post("/api/v1/declarations", {"kind": "structural", "person_id": bad, "table_id": bad}), 422,
             "person_id", "table_id")
    _refused(api.post("/api/v1/need-to-know-withdrawals", {"table_id": world["table"], "case_ref": "EN-1",
                                                           "organisation_id": bad}), 422, "organisation_id")
    _refused(api.post("/api/v1/check/batch", {"table_id": world["table"], "checks": [{"person_id": bad}]}), 422,
             "checks[0].person_id")


@pytest.mark.parametrize("bad", [0, -1, 2**31, 2**63, 2**64])
def test_ids_in_json_lists_are_422_naming_the_field(api, world, bad):
    _refused(api.post("/api/v1/consents", {"case_ref": "EN-1", "table_id": world["table"], "recipients": [world["org"], bad],
                                           "categories": ["contactgegevens"], "signed_by": "resident",
                                           "resident_name": "Sanne"}), 422, "recipients")
    _refused(api.post("/api/v1/meetings", {"table_id": world["table"], "starts_at": "2026-03-10T14:00",
                                           "cases": [{"case_ref": "EN-1", "invitee_ids": [bad]}]}), 422, "cases[0].invitee_ids")


@pytest.mark.parametrize("bad", ["0", "-1", str(2**31), str(2**63), str(2**64), "9" * 5000])
def test_ids_in_queries_are_refused_naming_the_field(api, world, bad):
    response = api.get(f"/api/v1/check?person={bad}&table={world['table']}")
    assert response.status_code in (400, 422)
    _refused(response, response.status_code, "person")
    _refused(api.get(f"/api/v1/check?person={world['person']}&table={bad}"), response.status_code, "table")


def test_ids_in_web_forms_are_a_dutch_400(logged_in, world):
    token = support.CSRF_RE.search(logged_in.get("/ondertekening").get_data(as_text=True)).group(1)
    for bad in (str(2**31), "0"):  # an id in the path outside 1 … 2³¹−1 is no page
        assert logged_in.post(f"/ondertekening/declaration/{bad}/versturen", data={"csrf_token": token}).status_code == 404
    need = logged_in.post(f"/meetings/{world['meeting']}/need-to-know",
                          data={"csrf_token": token, "case_ref": "EN-1", "organisation_id": str(2**40), "on": "2026-03-01"})
    assert need.status_code == 400 and 'data-field="organisation_id"' in need.get_data(as_text=True)
    paper = logged_in.post(f"/ondertekening/declaration/{world['declaration']}/papier",
                           data={"csrf_token": token, "signed_on": "2026-01-01", "person_id": str(2**63)})
    assert paper.status_code == 400 and 'data-field="person_id"' in paper.get_data(as_text=True)


# ----------------------------------------------------------------------------- NUL and lone surrogates


BAD_TEXT = ["a\x00b", "\ud800", "x\udfffy"]


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_bad_text_in_json_is_422_naming_the_field(api, world, bad):
    _refused(api.post("/api/v1/organisations", {"name": bad}), 422, "name")
    _refused(api.post("/api/v1/people", {"name": "N", "organisation_id": world["org"], "function": bad, "email": bad}), 422,
             "function", "email")
    _refused(api.post(f"/api/v1/covenants/{world['covenant']}/partners/{world['org']}/exclusion",
                      {"on": "2026-01-01", "reason": bad}), 422, "reason")
    _refused(api.post("/api/v1/consents", {"case_ref": "EN-1", "table_id": world["table"], "recipients": [world["org"]],
                                           "other_recipients": ["ok", bad], "categories": ["contactgegevens"],
                                           "signed_by": "resident", "resident_name": "Sanne"}), 422, "other_recipients[1]")
    _refused(api.post("/api/v1/meetings", {"table_id": world["table"], "starts_at": "2026-03-10T14:00",
                                           "cases": [{"case_ref": bad, "invitee_ids": [world["person"]]}]}), 422,
             "cases[0].case_ref")


def test_a_bad_key_is_named_too(api):
    response = api.post("/api/v1/organisations", {"name": "ok", "na\x00me": "x"})
    _refused(response, 422)
    assert any("me" in name for name in response.json["error"]["fields"])


@pytest.mark.parametrize("bad", ["a%00b", "%00"])
def test_bad_text_in_api_queries_is_422_naming_the_field(api, world, bad):
    _refused(api.get(f"/api/v1/tables/{world['table']}/entitled?case={bad}"), 422, "case")
    _refused(api.get(f"/api/v1/check?person={world['person']}&table={world['table']}&case={bad}"), 422, "case")


def test_bad_text_on_pages_is_a_dutch_400_naming_the_field(logged_in, client, world):
    response = logged_in.get(f"/tables/{world['table']}?case=EN%00")
    assert response.status_code == 400 and 'data-field="case"' in response.get_data(as_text=True)
    token = support.CSRF_RE.search(logged_in.get("/covenants/new").get_data(as_text=True)).group(1)
    form = logged_in.post("/covenants/new", data={"csrf_token": token, "title": "Convenant\x00", "region": "Emmen",
                                                  "pack": "emmen-casustafel"})
    assert form.status_code == 400 and 'data-field="title"' in form.get_data(as_text=True)
    assert "Dat kon niet worden verwerkt" in form.get_data(as_text=True)


def test_bad_text_on_the_signing_page_changes_nothing(api, client, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    response = support.sign_via_form(client, link, reps[0]["name"] + "\x00")
    assert response.status_code == 400 and 'data-field="full_name"' in response.get_data(as_text=True)
    assert support.sign_via_form(client, link, reps[0]["name"]).status_code == 303  # the link still works


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize("bad", ["9999-12-31", "0001-01-01", "1899-12-31", "3000-01-01", "2026-02-30", "20260101"])
def test_dates_out_of_range_in_json_are_422_naming_the_field(api, world, bad):
    _refused(api.post(f"/api/v1/covenants/{world['covenant']}/partners/{world['org']}/notice", {"given_on": bad}), 422,
             "given_on")
    _refused(api.post(f"/api/v1/covenants/{world['covenant']}/start", {"on": bad}), 422, "on")
    _refused(api.post("/api/v1/people", {"name": "N", "organisation_id": world["org"], "function": "f",
                                         "employed_until": bad}), 422, "employed_until")
    _refused(api.post("/api/v1/check/batch", {"on": bad, "table_id": world["table"], "checks": [{"person_id": 1}]}), 422, "on")


@pytest.mark.parametrize("bad", ["9999-12-31", "0001-01-01"])
def test_dates_out_of_range_in_queries_are_refused_naming_the_field(api, world, bad):
    for path in (f"/api/v1/tables/{world['table']}/entitled?on={bad}", f"/api/v1/people/{world['person']}/tables?on={bad}",
                 f"/api/v1/check?person={world['person']}&table={world['table']}&on={bad}"):
        response = api.get(path)
        assert response.status_code in (400, 422), path
        _refused(response, response.status_code, "on")


@pytest.mark.parametrize("bad", ["9999-12-31T23:59+00:00", "0001-01-01T00:00+14:00", "9999-12-31T23:59"])
def test_meeting_times_out_of_range_are_422(api, world, bad):
    _refused(api.post("/api/v1/meetings", {"table_id": world["table"], "starts_at": bad,
                                           "cases": [{"case_ref": "EN-1", "invitee_ids": [world["person"]]}]}), 422, "starts_at")


def test_dates_out_of_range_on_pages_are_a_dutch_400(logged_in, world):
    for path, field in ((f"/tables/{world['table']}?on=9999-12-31", "on"), (f"/people/{world['person']}?on=0001-01-01", "on")):
        response = logged_in.get(path)
        assert response.status_code == 400 and f'data-field="{field}"' in response.get_data(as_text=True), path
    token = support.CSRF_RE.search(logged_in.get("/forms/bijlage1").get_data(as_text=True)).group(1)
    form = logged_in.post("/forms/bijlage1", data={"csrf_token": token, "person_id": str(world["person"]),
                                                   "table_id": str(world["table"]), "signed_on": "9999-12-31"})
    assert form.status_code == 400 and 'data-field="signed_on"' in form.get_data(as_text=True)
    plan = logged_in.post(f"/tables/{world['table']}/meetings/new", data={"csrf_token": token, "day": "9999-12-31",
                                                                         "time": "14:00"})
    assert plan.status_code == 400 and 'data-field="day"' in plan.get_data(as_text=True)


# ----------------------------------------------------------------------------- JSON depth


@pytest.mark.parametrize("raw", ["[" * 10000, "[" * 10000 + "]" * 10000, '{"name": ' + "[" * 33 + "]" * 33 + "}",
                                 '{"a":' * 5000 + "1" + "}" * 5000])
def test_json_nested_too_deep_is_400(api, raw):
    response = api.client.post("/api/v1/organisations", data=raw, content_type="application/json", headers=api.headers)
    _refused(response, 400)
    assert response.json["error"]["code"] == "bad_json"


def test_json_at_the_depth_limit_and_brackets_in_strings_are_fine(api, world):
    deep_string = "[" * 100  # brackets inside a string do not nest
    assert api.post("/api/v1/organisations", {"name": deep_string}).status_code == 201
    nested: object = 1
    for _ in range(31):  # with the body object itself: 32 levels, the limit
        nested = [nested]
    assert api.post("/api/v1/organisations", {"name": "Org", "extra": nested}).status_code == 201
    _refused(api.post("/api/v1/organisations", {"name": "Org", "extra": [nested]}), 400)


# ----------------------------------------------------------------------------- drawn signature


def _png(width: int, height: int, padding: int = 0) -> str:
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00" * 8) + b"\x00" * padding) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.mark.parametrize("signature", [_png(2001, 500), _png(800, 1001), _png(2**31, 2**31), _png(800, 400, 1024 * 1024)])
def test_an_oversized_drawn_signature_is_422_in_dutch(api, client, app_session, signature):
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    response = support.sign_via_form(client, link, reps[0]["name"], signature=signature)
    assert response.status_code == 422
    assert "te groot (maximaal 2000 × 1000 pixels" in response.get_data(as_text=True)
    ok = support.sign_via_form(client, link, reps[0]["name"], signature=_png(2000, 1000))
    assert ok.status_code == 303  # the largest allowed size signs
