"""The API against its own OpenAPI document: the document is valid OpenAPI 3.1, and
schemathesis fuzzes every documented operation on SQLite and PostgreSQL.

What counts as a failure (for requests generated *valid* by the document):
- a 5xx;
- an answer whose status, content type or body the document does not describe;
- a request refused as malformed: any 400, or any answer produced by the schema layer
  itself (``forms_service.api.schema.schema_rejected``: a shape the document allows but
  the schema refuses means the two drifted). A 422/404/409/403 from a service is a
  business rule (a date after today, an unknown id, a duplicate) and is allowed: its
  codes are the documented ``validation_error``/``not_found``/``conflict``/``forbidden``…;
- a 405 without ``Allow``.

Every documented operation is fuzzed, the two awkward ones too:

- ``POST /api/v1/verify`` gets multipart bodies generated from its schema (random bytes
  as the ``file``): never a 5xx, always the documented verification answer.
- ``DELETE /api/v1/tokens/{token_id}`` runs last, and each of its calls authenticates
  with a token of its own, issued for the administrator just before the call. So the
  fuzzed ids are not bent away from anything: any id may be revoked, the fuzzer's own
  token included (nothing runs after it), and no call depends on what an earlier call
  revoked. A 204 is checked for what it promises: the revoked token's id is revoked in
  the database, and when its secret is known (the fuzzer's tokens) it answers 401.

Bounded: a few derandomized examples per operation (``FUZZ_EXAMPLES``, default 4).
"""

from __future__ import annotations

import io
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from sqlalchemy import select

from forms_service.api.schema import schema_rejected
from registry import accounts
from registry.models import User
from tests.conftest import ADMIN_EMAIL
from tests.signatures.test_verify_attacks import sealed  # noqa: F401 - a fixture
from tests.test_api import setup_covenant

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
REVOKE = ("DELETE", "/api/v1/tokens/{token_id}")
"""Runs last, each call with a token of its own (see the module's docstring)."""


def test_the_document_is_valid_openapi_3_1(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # openapi-spec-validator picks the 3.1 validator from the version


def test_a_405_names_the_allowed_methods(api):
    response = api.client.delete("/api/v1/tables")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_path_id_beyond_the_integer_range_is_404(api):
    for path in ("/api/v1/tables/9223372036854775808/entitled", "/api/v1/consents/99999999999999999999"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"


def test_an_empty_or_malformed_query_date_is_400_naming_it(api):
    covenant_id, _ = setup_covenant(api, partners=1)
    for value in ("", "2026-13-45", "morgen"):
        response = api.get(f"/api/v1/covenants/{covenant_id}/partners?on={value}")
        assert response.status_code == 400 and list(response.json["error"]["fields"]) == ["on"], value


def test_a_sealed_documents_verification_is_the_documented_answer(app, client, sealed):  # noqa: F811
    """The fuzzer only ever uploads files that are none of ours; a sealed Bijlage 1 sent as
    the document's multipart body gets the documented answer with a document and signers."""
    schema = schemathesis.openapi.from_dict(client.get("/api/openapi.json").json)
    case = schema["/api/v1/verify"]["POST"].Case(body={"file": sealed["pdf"]}, media_type="multipart/form-data")
    response = case.call(app=app)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                             content_type_conformance, response_schema_conformance])
    answer = response.json()
    assert answer["valid"] and answer["document"]["kind"] == "declaration", answer
    assert answer["document"]["id"] == sealed["declaration_id"] and answer["document"]["level"] == "PAdES-B-B"
    assert [s["name"] for s in answer["signers"]] == ["Mira Kamphuis"]


def test_verify_without_a_file_is_400_naming_it(client):
    """No multipart field ``file`` (nothing, a JSON body, a text field, another file): 400 bad_request on ``file``."""
    for sent in ({}, {"json": {"file": "x"}}, {"data": {"file": "geen bestand"}},
                 {"data": {"bijlage": (io.BytesIO(b"%PDF-1.4"), "x.pdf")}}):
        response = client.post("/api/v1/verify", **sent)
        assert response.status_code == 400, sent
        assert response.json["error"]["code"] == "bad_request" and response.json["error"]["fields"] == {
            "file": "Ontbreekt."}, sent


def _operations(spec: dict) -> list[tuple[str, str]]:
    """Every documented (method, path), token revocation last."""
    found = [(method.upper(), path) for path, operations in spec["paths"].items()
             for method in operations if method != "parameters"]
    return sorted(found, key=lambda operation: operation == REVOKE)


class Tokens:
    """API tokens of the administrator for the fuzzer: the fixture's, and one per revocation call."""

    def __init__(self, app_session, main: str):
        self.session, self.main = app_session, main
        self.user = app_session.scalar(select(User).where(User.email == ADMIN_EMAIL))
        self.secrets = {accounts.token_use(app_session, main).token_id: main}
        """Token id → secret, of every token the fuzzer holds."""
        app_session.commit()  # no read transaction left open beside the app's requests

    def fresh(self) -> str:
        """A new token for one call, committed before the call is made."""
        issued = accounts.issue_token(self.session, self.user)
        self.session.commit()
        self.secrets[issued.row.id] = issued.token
        return issued.token

    def headers(self, operation: tuple[str, str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.fresh() if operation == REVOKE else self.main}"}

    def check_revoked(self, client, token_id: int) -> None:
        """What a 204 of ``DELETE /api/v1/tokens/{id}`` promises."""
        self.session.expire_all()
        assert accounts.get_token(self.session, token_id).revoked_at is not None, token_id
        if token_id in self.secrets:
            answer = client.get("/api/v1/tables", headers={"Authorization": f"Bearer {self.secrets[token_id]}"})
            assert answer.status_code == 401, (token_id, answer.status_code)


def test_fuzz_every_operation(app, api, admin_token, app_session):
    setup_covenant(api, partners=2)  # a few real ids next to the random ones
    spec = api.client.get("/api/openapi.json").json
    schema = schemathesis.openapi.from_dict(spec)
    tokens = Tokens(app_session, admin_token)
    rejected: list[dict] = []

    def on_reject(_sender, fields, **_):
        rejected.append(fields)

    failures, statuses = [], []
    with schema_rejected.connected_to(on_reject):
        for method, path in _operations(spec):
            operation = schema[path][method]

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            def run(case):
                rejected.clear()
                response = case.call(app=app, headers=tokens.headers((method, path)))
                statuses.append((method, path, response.status_code))
                case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                         content_type_conformance, response_schema_conformance])
                assert response.status_code != 400, (method, path, response.text[:500])
                assert not rejected, (method, path, rejected, response.text[:500])
                if response.status_code == 405:
                    assert response.headers.get("Allow"), (method, path)
                if (method, path) == REVOKE and response.status_code == 204:
                    tokens.check_revoked(api.client, case.path_parameters["token_id"])

            try:
                run()
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, report all
                failures.append(f"{method} {path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    called = {(method, path) for method, path, _status in statuses}
    assert called == set(_operations(spec)), set(_operations(spec)) - called  # every operation was called
    assert any(200 <= status < 300 for *_, status in statuses), statuses  # some reached a service's success
