"""Table roles from the pack: Emmen's chair from Stichting de Toegang, coordinator from
Sedna; onderwijs-jeugdhulp's procesregisseur from the school or samenwerkingsverband.
A holder from another organisation is refused with 422 naming the field."""

from __future__ import annotations


def org_with_person(api, organisation: str, name: str) -> tuple[int, int]:
    org = api.post("/api/v1/organisations", {"name": organisation}).json
    person = api.post("/api/v1/people", {"name": name, "initials": name[0] + ".", "organisation_id": org["id"],
                                         "function": "Medewerker"}).json
    return org["id"], person["id"]


def emmen(api) -> dict:
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "C", "region": "Emmen"}).json
    _, chair = org_with_person(api, "Stichting de Toegang Emmen", "Anouk")
    _, coordinator = org_with_person(api, "Stichting Welzijnsorganisatie Sedna", "Gerda")
    _, other = org_with_person(api, "GGD Drenthe", "Mira")
    return {"covenant": cov["id"], "chair": chair, "coordinator": coordinator, "other": other}


def test_emmen_chair_and_coordinator_come_from_toegang_and_sedna(api):
    w = emmen(api)
    ok = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "T", "area": "Emmen-Noord",
                                     "chair_id": w["chair"], "coordinator_id": w["coordinator"]})
    assert ok.status_code == 201 and ok.json["roles"] == {}
    chair = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "T", "area": "Emmen-Zuid",
                                        "chair_id": w["other"], "coordinator_id": w["coordinator"]})
    assert chair.status_code == 422 and set(chair.json["error"]["fields"]) == {"chair_id"}
    assert "Stichting de Toegang Emmen" in chair.json["error"]["fields"]["chair_id"]
    swapped = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "T", "area": "Emmen-Zuid",
                                          "chair_id": w["coordinator"], "coordinator_id": w["chair"]})
    assert swapped.status_code == 422 and set(swapped.json["error"]["fields"]) == {"chair_id", "coordinator_id"}
    unknown = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "T", "area": "Emmen-Zuid",
                                          "roles": {"procesregisseur": w["other"]}})
    assert unknown.status_code == 422 and "roles.procesregisseur" in unknown.json["error"]["fields"]
    tables = [t for t in api.get("/api/v1/tables").json["tables"] if t["covenant_id"] == w["covenant"]]
    assert len(tables) == 1  # nothing of the refused requests was written


def onderwijs(api) -> dict:
    cov = api.post("/api/v1/covenants", {"pack": "onderwijs-jeugdhulp", "title": "Privacy convenant", "region": "Voorbeeldregio"}).json
    _, school = org_with_person(api, "Stichting Primair Onderwijs Voorbeeldstad", "Ineke")
    _, ggd = org_with_person(api, "GGD Voorbeeldregio", "Lotte")
    return {"covenant": cov["id"], "school": school, "ggd": ggd}


def test_onderwijs_procesregisseur_from_school_or_samenwerkingsverband(api):
    w = onderwijs(api)
    refused = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "MDO", "area": "MDO",
                                          "roles": {"procesregisseur": w["ggd"]}})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"roles.procesregisseur"}
    assert "procesregisseur" in refused.json["error"]["fields"]["roles.procesregisseur"]
    ok = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "MDO", "area": "MDO",
                                     "roles": {"procesregisseur": w["school"]}})
    assert ok.status_code == 201 and ok.json["roles"] == {"procesregisseur": w["school"]}
    # the pack names no organisations for the chair here: anyone may chair
    chair = api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "Verzuim", "area": "Verzuim",
                                        "chair_id": w["ggd"], "roles": {"procesregisseur": w["school"]}})
    assert chair.status_code == 201
    assert api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "X", "area": "Thuiszitters",
                                       "roles": {"procesregisseur": 99999}}).status_code == 404
    assert api.post("/api/v1/tables", {"covenant_id": w["covenant"], "name": "X", "area": "Thuiszitters",
                                       "roles": ["procesregisseur"]}).status_code == 422


def test_set_table_roles_checks_the_pack(app_session):
    import pytest

    from registry import services
    from registry.errors import ValidationError

    cov = services.create_covenant(app_session, pack="emmen-casustafel", title="C", region="Emmen")
    toegang = services.create_organisation(app_session, "Stichting de Toegang Emmen")
    ggd = services.create_organisation(app_session, "GGD Drenthe")
    anouk = services.create_person(app_session, name="Anouk", initials="A.", organisation_id=toegang.id)
    mira = services.create_person(app_session, name="Mira", initials="M.", organisation_id=ggd.id)
    table = services.create_table(app_session, covenant_id=cov.id, name="T", area="De Monden", chair_id=anouk.id)
    with pytest.raises(ValidationError) as refused:
        services.set_table_roles(app_session, table, chair_id=mira.id, coordinator_id=None)
    assert set(refused.value.fields) == {"chair_id"}


def test_the_web_covenant_form_refuses_a_chair_of_another_organisation(logged_in, app_session):
    import re

    from registry import services

    toegang = services.create_organisation(app_session, "Stichting de Toegang Emmen")
    ggd = services.create_organisation(app_session, "GGD Drenthe")
    anouk = services.create_person(app_session, name="Anouk", initials="A.", organisation_id=toegang.id)
    mira = services.create_person(app_session, name="Mira", initials="M.", organisation_id=ggd.id)
    app_session.commit()
    page = logged_in.get("/covenants/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"csrf_token": token.group(1), "pack": "emmen-casustafel", "title": "C", "region": "Emmen",
            "areas": "Emmen-Noord", "tables-0-area": "Emmen-Noord", "tables-0-enabled": "y",
            "tables-0-chair_id": str(mira.id), "tables-0-coordinator_id": ""}
    refused = logged_in.post("/covenants/new", data=data)
    assert refused.status_code == 200 and "Stichting de Toegang Emmen" in refused.get_data(as_text=True)
    ok = logged_in.post("/covenants/new", data={**data, "tables-0-chair_id": str(anouk.id)})
    assert ok.status_code == 302
