"""A covenant's term and annex numbers come from its template pack (issue 9, part 2).

Every pack of ``templates/`` is copied into a temporary ``TEMPLATE_PACKS_DIR``, next to
copies of the Emmen pack whose ``[term]`` (or ``[[annexes]]``) was edited: the copied
pack changes the rules without code. Answers are asked through the API, on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from registry import packs, queries, rules
from registry.models import Covenant

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
EMMEN = "emmen-casustafel"

TERM = re.compile(r"^\[term\]\n(?:[^\[\n].*\n|\n)*", re.M)


def copy_of_emmen(root: Path, name: str, term: str, extra: str = "") -> Path:
    """A copy of the Emmen pack called ``name`` with this ``[term]`` (and extra TOML)."""
    folder = root / name
    shutil.copytree(TEMPLATES / EMMEN, folder)
    manifest = folder / "pack.toml"
    text = manifest.read_text(encoding="utf-8")
    text = text.replace(f'name = "{EMMEN}"', f'name = "{name}"', 1)
    text, count = TERM.subn("[term]\n" + term.strip() + "\n\n", text, count=1)
    assert count == 1
    if "[[annexes]]" in extra:  # the copy's own annex numbers replace the pack's
        text = re.sub(r"\[\[annexes\]\]\n(?:[^\[\n][^\n]*\n)*\n?", "", text)
    manifest.write_text(text + extra, encoding="utf-8")
    return folder


ANNEXES = """
[[annexes]]
key = "bijlage1"
number = "Bijlage A"
title = "Verklaring geheimhouding deelnemer"
kind = "structural_declaration"

[[annexes]]
key = "bijlage2"
number = "Bijlage B"
title = "Verklaring geheimhouding incidentele deelnemer"
kind = "incidental_declaration"

[[annexes]]
key = "bijlage4"
number = "Bijlage C"
title = "Toestemmingsformulier"
kind = "consent"
"""


@pytest.fixture
def packs_root(tmp_path, monkeypatch):
    """All packs of templates/ plus edited copies of Emmen, as TEMPLATE_PACKS_DIR."""
    root = tmp_path / "packs"
    root.mkdir()
    for folder in TEMPLATES.iterdir():
        if (folder / "pack.toml").is_file():
            shutil.copytree(folder, root / folder.name)
    copy_of_emmen(root, "emmen-maand", "initial_years = 3\nrenewal_years = 1\nnotice_months = 1")
    copy_of_emmen(root, "emmen-eenjarig", "initial_years = 1\nrenewal_years = 0\nnotice_months = 3")
    copy_of_emmen(root, "emmen-einddatum", "initial_years = 3\nrenewal_years = 0\nnotice_months = 3\nends_on = 2026-09-30")
    copy_of_emmen(root, "emmen-letters", "initial_years = 3\nrenewal_years = 1\nnotice_months = 3", ANNEXES)
    monkeypatch.setenv(packs.ENV_PACKS_DIR, str(root))
    return root


def setup(api, pack: str, area: str = "Emmen-Noord") -> dict:
    """A covenant of ``pack`` signed on paper by two partners (in force 2025-05-12), a
    table, and Mira (partner A) with a Bijlage 1 signed 2025-05-20."""
    cov = api.post("/api/v1/covenants", {"pack": pack, "title": f"Convenant {pack}", "region": "Emmen"})
    assert cov.status_code == 201, cov.json
    ids = {"covenant": cov.json["id"], "orgs": []}
    for i, signed_on in enumerate(("2025-05-05", "2025-05-12")):
        org = api.post("/api/v1/organisations", {"name": f"Partner {i} {pack}"}).json
        rep = api.post("/api/v1/people", {"name": f"Rep {i}", "initials": "R.", "organisation_id": org["id"],
                                          "function": "Bestuurder", "email": f"rep{i}@example.org"}).json
        added = api.post(f"/api/v1/covenants/{ids['covenant']}/partners",
                         {"organisation_id": org["id"], "representative_id": rep["id"], "signed_on": signed_on})
        assert added.status_code == 201, added.json
        ids["orgs"].append(org["id"])
    table = api.post("/api/v1/tables", {"covenant_id": ids["covenant"], "name": f"Tafel {pack}", "area": area})
    assert table.status_code == 201, table.json
    ids["table"] = table.json["id"]
    mira = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": ids["orgs"][0],
                                       "function": "Jeugdverpleegkundige", "email": "mira@example.org"}).json
    ids["mira"] = mira["id"]
    decl = api.post("/api/v1/declarations", {"kind": "structural", "person_id": mira["id"], "table_id": ids["table"],
                                             "signed_on": "2025-05-20"})
    assert decl.status_code == 201, decl.json
    return ids


def check(api, ids, on: str, person: str = "mira", case: str | None = None) -> dict:
    url = f"/api/v1/check?person={ids[person]}&table={ids['table']}&on={on}" + (f"&case={case}" if case else "")
    response = api.get(url)
    assert response.status_code == 200, response.json
    return response.json


def notice(api, ids, given_on: str, org: int = 0):
    return api.post(f"/api/v1/covenants/{ids['covenant']}/partners/{ids['orgs'][org]}/notice", {"given_on": given_on})


def codes(answer: dict) -> list[str]:
    return [r["code"] for r in answer["reasons"] if r["code"] != "covenant_in_force"]


def term(answer: dict) -> str:
    """The text of the ``covenant_in_force`` reason (the covenant's term)."""
    return next(r["text"] for r in answer["reasons"] if r["code"] == "covenant_in_force")


# ----------------------------------------------------------------------------- notice


def test_one_month_notice_from_the_pack(api, packs_root):
    ids = setup(api, "emmen-maand")
    response = notice(api, ids, "2026-11-30")
    assert response.status_code == 200, response.json
    # one calendar month: 30 November + 1 month = 30 December, the first day no longer a partner
    assert response.json["ends_on"] == "2026-12-30"
    before = check(api, ids, "2026-12-29")
    assert before["allowed"] and [w["code"] for w in before["warnings"]] == ["notice_given"]
    assert "het partnerschap eindigt op 30 december 2026" in before["warnings"][0]["text"]
    for day in ("2026-12-30", "2026-12-31"):
        ended = check(api, ids, day)
        assert not ended["allowed"] and codes(ended) == ["notice_ended"]
        assert "geëindigd op 30 december 2026" in ended["reasons"][0]["text"]


def test_emmen_keeps_three_months(api, packs_root):
    ids = setup(api, EMMEN)
    assert notice(api, ids, "2025-11-30").json["ends_on"] == "2026-02-28"
    assert not check(api, ids, "2026-02-28")["allowed"] and check(api, ids, "2026-02-27")["allowed"]
    assert notice(api, ids, "2027-11-30", org=1).json["ends_on"] == "2028-02-29"   # leap year


# ----------------------------------------------------------------------------- the covenant's own term


def test_no_tacit_renewal_ends_on_the_anniversary(api, packs_root):
    ids = setup(api, "emmen-eenjarig")  # in force 2025-05-12, one year, no renewal
    last = check(api, ids, "2026-05-11")
    assert last["allowed"]
    assert "looptijd tot en met 11 mei 2026, niet stilzwijgend verlengd" in term(last)
    anniversary = check(api, ids, "2026-05-12")
    assert not anniversary["allowed"] and codes(anniversary) == ["covenant_ended"]
    assert "tot en met 11 mei 2026" in anniversary["reasons"][0]["text"]
    assert "niet stilzwijgend verlengd" in anniversary["reasons"][0]["text"]
    entitled = api.get(f"/api/v1/tables/{ids['table']}/entitled?on=2026-05-12").json
    assert entitled["organisations"] == [] and entitled["people"] == []
    assert len(api.get(f"/api/v1/tables/{ids['table']}/entitled?on=2026-05-11").json["organisations"]) == 2


def test_a_fixed_last_day_is_inclusive(api, packs_root):
    ids = setup(api, "emmen-einddatum")  # ends_on = 2026-09-30
    last = check(api, ids, "2026-09-30")
    assert last["allowed"] and "looptijd tot en met 30 september 2026, niet stilzwijgend verlengd" in term(last)
    after = check(api, ids, "2026-10-01")
    assert not after["allowed"] and codes(after) == ["covenant_ended"]
    assert "30 september 2026" in after["reasons"][0]["text"]
    tables = api.get(f"/api/v1/people/{ids['mira']}/tables?on=2026-10-01").json["tables"]
    assert tables == []


def test_emmen_renews_itself_and_says_so(api, packs_root):
    ids = setup(api, EMMEN)  # in force 2025-05-12: three years, then a year at a time
    first = check(api, ids, "2028-05-11")
    assert first["allowed"] and "looptijd tot en met 11 mei 2028, daarna telkens stilzwijgend verlengd" in term(first)
    renewed = check(api, ids, "2030-05-12")
    assert renewed["allowed"] and "stilzwijgend verlengd tot en met 11 mei 2031" in term(renewed)


def test_a_missing_pack_falls_back_to_the_defaults(api, packs_root, app_session):
    ids = setup(api, "emmen-maand")
    shutil.rmtree(packs_root / "emmen-maand")
    assert notice(api, ids, "2026-11-30", org=1).json["ends_on"] == "2027-02-28"  # three months
    assert check(api, ids, "2031-01-01")["allowed"]                       # renewed by a year at a time
    covenant = app_session.get(Covenant, ids["covenant"])
    facts = queries.covenant_facts(covenant)
    assert (facts.initial_years, facts.renewal_years, facts.ends_on) == (3, 1, None)


def test_an_edited_pack_changes_the_next_answer(api, packs_root):
    ids = setup(api, "emmen-maand")
    assert check(api, ids, "2029-01-01")["allowed"]
    manifest = packs_root / "emmen-maand" / "pack.toml"
    manifest.write_text(TERM.sub("[term]\ninitial_years = 2\nrenewal_years = 0\nnotice_months = 1\n\n",
                                 manifest.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    answer = check(api, ids, "2029-01-01")
    assert not answer["allowed"] and codes(answer) == ["covenant_ended"]


# ----------------------------------------------------------------------------- annex numbers


def test_reason_texts_use_the_packs_annex_numbers(api, packs_root):
    ids = setup(api, "emmen-letters")
    allowed = check(api, ids, "2025-05-20")
    assert [r for r in allowed["reasons"] if r["code"] == "bijlage1_signed"][0]["text"].startswith("Bijlage A getekend op")
    before = check(api, ids, "2025-05-19")
    assert codes(before) == ["bijlage1_signed_later"] and before["reasons"][0]["text"].startswith("Bijlage A voor")
    guest = api.post("/api/v1/people", {"name": "Gast", "initials": "G.", "organisation_id": ids["orgs"][1],
                                        "function": "Wijkagent", "email": "gast@example.org"}).json
    ids["guest"] = guest["id"]
    api.post("/api/v1/declarations", {"kind": "incidental", "person_id": guest["id"], "table_id": ids["table"],
                                      "case_ref": "EN-1", "signed_on": "2025-06-01"})
    incidental = check(api, ids, "2025-06-02", "guest", "EN-1")
    assert incidental["allowed"] and incidental["reasons"][0]["text"].startswith("Bijlage B getekend op")
    other = check(api, ids, "2025-06-02", "guest", "EN-2")
    texts = " ".join(r["text"] for r in other["reasons"])
    assert "bijlage2_other_case" in codes(other) and "Bijlage B is alleen getekend voor casus EN-1" in texts
    assert "Bijlage 1" not in texts and "Bijlage 2" not in texts and "Geen getekende Bijlage A" in texts
    no_case = check(api, ids, "2025-06-02", "guest")
    assert "case_required" in codes(no_case) and "Met een Bijlage B" in " ".join(r["text"] for r in no_case["reasons"])

    meeting = api.post("/api/v1/meetings", {"table_id": ids["table"], "starts_at": "2025-06-10T14:00",
                                            "cases": [{"case_ref": "EN-2", "invitee_ids": [ids["mira"], guest["id"]]}]})
    assert meeting.status_code == 201, meeting.json
    checked = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    invitees = {i["person_id"]: i for i in checked["cases"][0]["invitees"]}
    assert invitees[ids["mira"]]["consent"]["reason"]["text"].startswith("Geen toestemming (Bijlage C)")
    assert [w["text"] for w in invitees[guest["id"]]["warnings"] if w["code"] == "bijlage2_needed"] == [
        "Voor casus EN-2 is een Bijlage B van Gast nodig: stuur Bijlage B ter ondertekening."]


def test_onderwijs_consent_is_bijlage_5(api, packs_root):
    ids = setup(api, "onderwijs-jeugdhulp", area="MDO")
    meeting = api.post("/api/v1/meetings", {"table_id": ids["table"], "starts_at": "2025-06-10T14:00",
                                            "cases": [{"case_ref": "MDO-1", "invitee_ids": [ids["mira"]]}]})
    assert meeting.status_code == 201, meeting.json
    invitee = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json["cases"][0]["invitees"][0]
    assert invitee["allowed"] and invitee["consent"]["reason"] == {
        "code": "consent_missing",
        "text": "Geen toestemming (Bijlage 5) voor deze casus: alleen anonieme of DAT-informatie delen (art. 11)."}
    assert check(api, ids, "2025-05-20")["reasons"][1]["text"].startswith("Bijlage 1 getekend op")


# ----------------------------------------------------------------------------- exclusion


def test_exclusion_ends_entitlement_through_a_bijlage_2_too(api, packs_root):
    ids = setup(api, EMMEN)
    sanne = api.post("/api/v1/people", {"name": "Sanne Bos", "initials": "S.", "organisation_id": ids["orgs"][0],
                                        "function": "Wijkverpleegkundige", "email": "sanne@example.org"}).json
    ids["sanne"] = sanne["id"]
    b2 = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": sanne["id"], "table_id": ids["table"],
                                           "case_ref": "EN-1", "signed_on": "2026-01-10"})
    assert b2.status_code == 201
    outsider_org = api.post("/api/v1/organisations", {"name": "Geen partner B.V."}).json
    outsider = api.post("/api/v1/people", {"name": "Olaf Buiten", "initials": "O.", "organisation_id": outsider_org["id"],
                                           "function": "Hulpverlener", "email": "olaf@example.org"}).json
    ids["outsider"] = outsider["id"]
    api.post("/api/v1/declarations", {"kind": "incidental", "person_id": outsider["id"], "table_id": ids["table"],
                                      "case_ref": "EN-1", "signed_on": "2026-01-10"})

    before = check(api, ids, "2026-01-31", "sanne", "EN-1")
    assert (before["allowed"], before["basis"]) == (True, "incidental")
    excluded = api.post(f"/api/v1/covenants/{ids['covenant']}/partners/{ids['orgs'][0]}/exclusion",
                        {"on": "2026-02-01", "reason": "Bewust niet naleven"})
    assert excluded.status_code == 200
    assert check(api, ids, "2026-01-31", "sanne", "EN-1")["allowed"]          # history stays answerable
    after = check(api, ids, "2026-02-01", "sanne", "EN-1")
    assert not after["allowed"] and codes(after) == ["excluded"]
    assert "per 1 februari 2026 uitgesloten" in after["reasons"][0]["text"] and "Bewust niet naleven" in after["reasons"][0]["text"]
    structural = check(api, ids, "2026-02-01")                                 # Mira's Bijlage 1 neither
    assert not structural["allowed"] and codes(structural) == ["excluded"]
    # someone of an organisation that is no partner at all still joins with a Bijlage 2
    assert check(api, ids, "2026-02-01", "outsider", "EN-1")["allowed"]
    entitled = api.get(f"/api/v1/tables/{ids['table']}/entitled?on=2026-02-01&case=EN-1").json
    assert [p["id"] for p in entitled["people"]] == [outsider["id"]]
    assert [o["id"] for o in entitled["organisations"]] == [ids["orgs"][1]]

    meeting = api.post("/api/v1/meetings", {"table_id": ids["table"], "starts_at": "2026-02-10T14:00",
                                            "cases": [{"case_ref": "EN-2", "invitee_ids": [sanne["id"]]}]}).json
    invitee = api.get(f"/api/v1/meetings/{meeting['id']}/check").json["cases"][0]["invitees"][0]
    assert not invitee["allowed"] and "excluded" in [r["code"] for r in invitee["reasons"]]
    assert "bijlage2_needed" not in [w["code"] for w in invitee["warnings"]]  # no declaration helps


# ----------------------------------------------------------------------------- the rules themselves


def test_rules_never_loop_without_renewal():
    covenant = rules.CovenantFacts(1, "C", rules.dt.date(2025, 1, 1), initial_years=2, renewal_years=0)
    assert rules.current_term_end(covenant, rules.dt.date(2999, 12, 31)) == rules.dt.date(2026, 12, 31)
    assert rules.covenant_reason(covenant, rules.dt.date(2026, 12, 31))[0]
    ok, why = rules.covenant_reason(covenant, rules.dt.date(2027, 1, 1))
    assert not ok and why.code == "covenant_ended"
    fixed = rules.CovenantFacts(1, "C", rules.dt.date(2025, 1, 1), ends_on=rules.dt.date(2025, 6, 30))
    assert rules.current_term_end(fixed, rules.dt.date(2025, 2, 1)) == rules.dt.date(2025, 6, 30)
    assert not rules.covenant_reason(fixed, rules.dt.date(2025, 7, 1))[0]


def test_cached_pack_reads_a_manifest_once_per_version(packs_root):
    first = packs.cached_pack("emmen-maand")
    assert first is packs.cached_pack("emmen-maand") and first.term.notice_months == 1
    assert packs.cached_pack("no-such-pack") is None and packs.cached_pack("../etc") is None
    assert packs.term_of("no-such-pack") == packs.DEFAULT_TERM


# ----------------------------------------------------------------------------- GET /api/v1/packs


def test_packs_api_says_what_each_pack_decides(api, packs_root, client):
    response = api.get("/api/v1/packs")
    assert response.status_code == 200
    found = {p["name"]: p for p in response.json["packs"]}
    assert list(found) == packs.list_packs() and "emmen-maand" in found and "ggz-casusaanpak" in found
    for pack in found.values():
        assert set(pack) == {"name", "title", "region", "term", "annexes", "areas", "consent_categories",
                             "consent_signers", "table_roles", "phases", "legal_basis",
                             "min_age", "retention"}
        assert set(pack["term"]) == {"initial_years", "renewal_years", "notice_months", "ends_on"}
    assert found["emmen-maand"]["term"] == {"initial_years": 3, "renewal_years": 1, "notice_months": 1, "ends_on": None}
    ggz = found["ggz-casusaanpak"]
    assert ggz["term"] == {"initial_years": 3, "renewal_years": 0, "notice_months": 1, "ends_on": "2027-12-31"}
    assert ggz["consent_signers"] == [{"below_age": 12, "signers": ["parents"]},
                                      {"below_age": 16, "signers": ["resident", "parents"]},
                                      {"below_age": None, "signers": ["resident"]}]
    assert [r["key"] for r in ggz["table_roles"]] == ["chair", "coordinator"]
    assert ggz["table_roles"][1] == {"key": "coordinator", "label": "coördinator", "organisations": ["Gemeente Voorbeeldstad"]}
    assert ggz["areas"] == ["Regionaal casusoverleg"] and ggz["region"] == "Voorbeeldregio"
    onderwijs = found["onderwijs-jeugdhulp"]
    assert {"key": "bijlage5", "number": "Bijlage 5", "title": "Toestemmingsformulier", "kind": "consent"} in onderwijs["annexes"]
    assert onderwijs["areas"] == ["MDO", "Verzuim", "Thuiszitters"]
    assert {"key": "attendance", "label": "gegevens over verzuim en aanwezigheid op school"} in onderwijs["consent_categories"]
    assert [a["number"] for a in found["emmen-letters"]["annexes"]] == ["Bijlage A", "Bijlage B", "Bijlage C"]
    assert client.get("/api/v1/packs").status_code == 401
    spec = api.get("/api/openapi.json").json
    described = spec["paths"]["/api/v1/packs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert spec["components"]["schemas"][described["$ref"].rsplit("/", 1)[1]]["properties"]["packs"]
