"""Signing-link tokens: entropy, hashing, comparison, expiry."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from signatures import tokens


def test_token_is_urlsafe_and_long_enough():
    token, token_hash = tokens.new_token()
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) * 8 >= 128
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert token_hash == tokens.hash_token(token)
    assert len(token_hash) == 64 and token not in token_hash


def test_tokens_are_unique():
    assert len({tokens.new_token()[0] for _ in range(1000)}) == 1000


def test_hash_is_sha256_hex():
    assert tokens.hash_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_token_matches_only_its_hash():
    token, token_hash = tokens.new_token()
    other, _ = tokens.new_token()
    assert tokens.token_matches(token, token_hash)
    assert not tokens.token_matches(other, token_hash)
    assert not tokens.token_matches("x" * 500, tokens.hash_token("x" * 500))
    assert not tokens.token_matches(None, token_hash)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "short", "a/b" * 10, "é" * 30, "x" * 129, None, 42])
def test_malformed_tokens_are_rejected(bad):
    assert not tokens.is_well_formed(bad)


def test_expiry_default_is_fourteen_days(now):
    assert tokens.expiry(now) == now + timedelta(days=14)
    assert tokens.expiry(now, days=3) == now + timedelta(days=3)
    with pytest.raises(ValueError):
        tokens.expiry(now, days=0)


def test_expiry_end_is_exclusive(now):
    end = tokens.expiry(now, days=1)
    assert not tokens.is_expired(end, end - timedelta(microseconds=1))
    assert tokens.is_expired(end, end)
    assert tokens.is_expired(end.replace(tzinfo=None), end + timedelta(seconds=1))
