"""The Emmen test covenant as a fixture, shared by the documents web and API tests."""

from __future__ import annotations

import pytest

from tests import factories

PACK = "emmen-casustafel"


@pytest.fixture
def world(app_session):
    """The Emmen test covenant with two partners and a table, committed."""
    rows = factories.emmen_world(app_session)
    app_session.commit()
    return rows
