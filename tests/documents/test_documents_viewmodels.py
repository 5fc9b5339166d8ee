"""View-models are plain, frozen, validated data with a stable cache key."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from registry.documents import (CaseTable, ConsentDoc, DeclarationDoc, Party,
                                     covenant_from_pack, dutch_date)
from registry.documents.render import document_date, join_nl


def test_cache_key_is_stable_and_data_sensitive(pack):
    a = covenant_from_pack(pack)
    b = covenant_from_pack(pack)
    assert a.cache_key() == b.cache_key() and len(a.cache_key()) == 64
    signed = dataclasses.replace(a, in_force_on=date(2025, 5, 12))
    assert signed.cache_key() != a.cache_key()
    assert (DeclarationDoc(kind="structural").cache_key()
            != DeclarationDoc(kind="incidental").cache_key())


def test_cache_key_known_value():
    """Canonical JSON is part of the contract: keys sorted, ISO dates, type name."""
    party = Party("Org", "A. B", date(2025, 5, 12))
    import hashlib
    expected = hashlib.sha256(
        b'{"data":{"mandate":null,"organisation":"Org","representative":"A. B","signed_on":"2025-05-12"},'
        b'"type":"Party"}').hexdigest()
    assert party.cache_key() == expected


def test_view_models_are_frozen_and_lists_become_tuples(pack):
    vm = covenant_from_pack(pack, parties=[Party("X", "Y")], tables=[CaseTable("Noord")])
    assert isinstance(vm.parties, tuple) and isinstance(vm.tables, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        vm.region = "Elders"
    hash(vm)


def test_validation():
    with pytest.raises(TypeError):
        Party("X", "Y", "2025-05-12")
    with pytest.raises(ValueError):
        DeclarationDoc(kind="guest")
    with pytest.raises(ValueError):
        ConsentDoc(signed_by="neighbour")
    with pytest.raises(TypeError):
        ConsentDoc(resident_birth_date="2009-03-04")


def test_dutch_dates_and_lists():
    assert dutch_date(date(2025, 5, 12)) == "12 mei 2025"
    assert dutch_date(date(2024, 12, 3)) == "3 december 2024"
    assert dutch_date(None) == ""
    assert join_nl(["a", "b", "c"]) == "a, b en c" and join_nl(["a"]) == "a"


def test_document_date_comes_from_data(pack):
    parties = (Party("A", "a", date(2025, 5, 1)), Party("B", "b", date(2025, 5, 9)))
    assert document_date(covenant_from_pack(pack, parties=parties)) == date(2025, 5, 9)
    assert document_date(covenant_from_pack(pack, parties=parties,
                                            in_force_on=date(2025, 6, 1))) == date(2025, 6, 1)
    assert document_date(covenant_from_pack(pack)) is None
    assert document_date(ConsentDoc(signed_on=date(2025, 1, 2))) == date(2025, 1, 2)
