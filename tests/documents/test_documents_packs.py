"""Template packs are found, loaded and validated; the code itself knows no region."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from registry.documents import PackError, UnknownPackError, list_packs, load_pack

CODE = Path(__file__).resolve().parents[2] / "forms_service" / "documents"


def test_emmen_pack_manifest(pack):
    assert pack.name == "emmen-casustafel" and pack.region == "Emmen"
    assert pack.municipality == "gemeente Emmen"
    # the order of the footnote of Bijlage 3; art. 1 lists the short names alphabetically
    assert [a.name for a in pack.areas] == ["Emmen-Noord", "Emmen-Zuid", "Emmen-Oost",
                                            "De Monden", "De Velden", "De Blokken"]
    assert [r.key for r in pack.roles] == ["chair", "coordinator"]
    assert [a.key for a in pack.annexes] == ["bijlage1", "bijlage2", "bijlage3", "bijlage4"]
    assert (pack.term.initial_years, pack.term.renewal_years, pack.term.notice_months) == (3, 1, 3)
    assert [r.organisation for r in pack.table_roles] == [
        "Stichting de Toegang Emmen", "Stichting Welzijnsorganisatie Sedna"]
    assert pack.category_keys() == ("name_address", "situation_summary", "current_support")
    assert pack.meeting_themes == ("jeugd", "ouderen", "volwassenen", "GGZ", "verslaving", "wonen")
    assert pack.age_bands == ("0-18", "18-27", "28-80", "80+")


def test_founding_partners_and_recipients(pack):
    partners = {p.organisation: p.representative for p in pack.founding_partners}
    assert len(partners) == 8
    assert partners["De gemeente Emmen"] == "D. Keen"
    assert partners["Faveo Zorg B.V. (Thalia Thuiszorg)"] == "E.A. van Gelder"
    assert partners["Stichting Welzijnsorganisatie Sedna"] == "J.R.R. Brongers"
    names = pack.recipient_names()
    assert names[0] == "GGD Drenthe" and names[-1] == "VNN" and len(names) == 12
    assert "Woningcorporatie Woonservice" in names and "Woningcorporatie" not in names


def test_list_packs_default_and_override(tmp_path, monkeypatch):
    assert "emmen-casustafel" in list_packs()
    shutil.copytree(load_pack("emmen-casustafel").path, tmp_path / "other-region")
    (tmp_path / "not-a-pack").mkdir()
    assert list_packs(tmp_path) == ["other-region"]
    monkeypatch.setenv("TEMPLATE_PACKS_DIR", str(tmp_path))
    assert list_packs() == ["other-region"]
    assert load_pack("other-region").path == (tmp_path / "other-region").resolve()
    with pytest.raises(UnknownPackError):
        load_pack("emmen-casustafel")


@pytest.mark.parametrize("name", ["nope", "../templates/emmen-casustafel", "a/b", "a\\b",
                                  "..", ".hidden", "", "emmen-casustafel/"])
def test_unknown_or_unsafe_names_are_refused(name):
    with pytest.raises(UnknownPackError):
        load_pack(name)


def test_invalid_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "pack.toml").write_text('name = "broken"\n')
    with pytest.raises(PackError, match="title"):
        load_pack("broken", tmp_path)


def test_code_does_not_know_emmen():
    """Everything region-specific lives in the pack."""
    offenders = [p.name for p in CODE.glob("*.py")
                 if any(word in p.read_text(encoding="utf-8").lower()
                        for word in ("emmen", "sedna", "toegang", "drenthe"))]
    assert offenders == []
