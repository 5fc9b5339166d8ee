"""The document on the public signing page: the pack's styling, and nothing that can run or fetch."""

from __future__ import annotations

from tests import signing_support as ss


def test_signing_page_shows_the_stored_document_styled_and_inert(api, client):
    covenant_id, _reps = ss.covenant_with_partners(api, 1, prefix="Voorbeeld")
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests", {}).status_code == 201
    link = next(iter(ss.links_by_recipient(api).values()))
    page = client.get(ss.path_of(link)).get_data(as_text=True)
    preview_path = ss.path_of(link) + "/voorbeeld"
    assert f'src="{preview_path}"' in page
    preview = client.get(preview_path)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Voorbeeld 0" in html
    assert "@font-face" in html  # the pack's stylesheet is inlined
    policy = preview.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'") and "script-src" not in policy


def test_preview_of_an_unknown_link_is_refused_in_dutch(client):
    response = client.get("/onderteken/geen-echte-link/voorbeeld")
    assert response.status_code in (404, 410) and "Deze link kan niet worden gebruikt" in response.get_data(as_text=True)
