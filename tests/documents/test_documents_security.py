"""User text never becomes markup, and a render never fetches anything but pack files.

Proof is direct: a recording wrapper around the real URL fetcher lists every request
WeasyPrint makes, and a real socket on 127.0.0.1 must not see a connection."""

from __future__ import annotations

import select
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from registry.documents import (DeclarationDoc, FetchRefused, Party, covenant_from_pack,
                                     load_pack, render_pdf)
from registry.documents import render as render_module
from registry.documents.render import make_url_fetcher, resolve_pack_url

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def listener():
    """A TCP socket on 127.0.0.1 that would accept any connection a render made."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def connection_attempted(sock) -> bool:
    """True if a client connected (readable listening socket = pending accept)."""
    readable, _, _ = select.select([sock], [], [], 0.5)
    return bool(readable)


@pytest.fixture
def fetch_log(monkeypatch):
    """Record every URL WeasyPrint asks the pack fetcher for, and what happened."""
    log = []
    real_factory = make_url_fetcher

    def recording_factory(pack_root):
        fetcher = real_factory(pack_root)
        real_fetch = fetcher.fetch

        def fetch(url, headers=None):
            try:
                response = real_fetch(url, headers)
            except Exception as exc:
                log.append((url, type(exc).__name__))
                raise
            log.append((url, "served"))
            return response

        fetcher.fetch = fetch
        return fetcher

    monkeypatch.setattr(render_module, "make_url_fetcher", recording_factory)
    return log


def test_listener_detects_a_connection(listener):
    """Guard for the guard: the socket check does see a real connection."""
    client = socket.create_connection(listener.getsockname())
    try:
        assert connection_attempted(listener)
    finally:
        client.close()


def test_injected_markup_is_literal_and_nothing_is_fetched(pack, listener, fetch_log,
                                                           text_of_pdf):
    port = listener.getsockname()[1]
    evil_org = '<img src="file:///etc/passwd">'
    evil_function = f'<link href="http://127.0.0.1:{port}/x">'
    covenant = covenant_from_pack(pack, parties=(Party(evil_org, f'<img src="http://127.0.0.1:{port}/y">'),))
    declaration = DeclarationDoc(kind="structural", organisation=evil_org, function=evil_function,
                                 person_name='"><style>@import url(http://127.0.0.1:%d/z);</style>' % port)

    for template, vm in (("covenant", covenant), ("declaration_structural", declaration)):
        rendered = render_pdf(pack, template, vm)
        text = " ".join(text_of_pdf(rendered.pdf).split())
        assert evil_org in text
        if template != "covenant":
            assert evil_function in text
            assert "@import url(http://127.0.0.1" in text
        assert "&lt;img" in rendered.html and '<img src="file' not in rendered.html

    assert not connection_attempted(listener)
    assert fetch_log, "the stylesheet and fonts should have gone through the fetcher"
    for url, outcome in fetch_log:
        assert outcome == "served", (url, outcome)
        assert resolve_pack_url(pack.path, url).is_relative_to(pack.path)
    assert not any("passwd" in url or "127.0.0.1" in url for url, _ in fetch_log)


def test_fetcher_refuses_everything_outside_the_pack(pack, tmp_path):
    fetcher = make_url_fetcher(pack.path)
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    refused = [
        "file:///etc/passwd",
        outside.as_uri(),
        pack.path.as_uri() + "/../../pyproject.toml",
        pack.path.as_uri() + "/%2e%2e/%2e%2e/pyproject.toml",
        pack.path.as_uri() + "/no-such-file.css",
        "file://otherhost" + (pack.path / "style.css").as_posix(),
        "http://127.0.0.1:9/x",
        "https://example.org/font.ttf",
        "data:text/css,body{}",
    ]
    for url in refused:
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)
    served = fetcher.fetch((pack.path / "style.css").as_uri())
    assert b"@font-face" in served.read()


def test_fetcher_refuses_symlink_out_of_the_pack(tmp_path):
    pack_copy = tmp_path / "packs" / "copy"
    shutil.copytree(load_pack("emmen-casustafel").path, pack_copy)
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    (pack_copy / "link.css").symlink_to(secret)
    with pytest.raises(FetchRefused):
        resolve_pack_url(pack_copy, (pack_copy / "link.css").as_uri())


def test_hostile_template_cannot_read_outside_its_pack(tmp_path, fetch_log, text_of_pdf):
    """Even a pack's own template cannot pull in a file from elsewhere."""
    secret = tmp_path / "secret.html"
    secret.write_text("TOPSECRET")
    pack_dir = tmp_path / "packs" / "hostile"
    shutil.copytree(load_pack("emmen-casustafel").path, pack_dir)
    (pack_dir / "bijlage1.html").write_text(
        f'<html><body><p>hostile</p><img src="{secret.as_uri()}">'
        f'<object data="{secret.as_uri()}"></object>'
        f'<link rel="stylesheet" href="{secret.as_uri()}"></body></html>')
    pack = load_pack("hostile", tmp_path / "packs")
    rendered = render_pdf(pack, "bijlage1.html", DeclarationDoc(kind="structural"))
    assert "hostile" in text_of_pdf(rendered.pdf)
    assert "TOPSECRET" not in text_of_pdf(rendered.pdf)
    outcomes = {url: outcome for url, outcome in fetch_log}
    assert outcomes and outcomes.get(secret.as_uri()) == "FetchRefused"


def test_importing_documents_does_not_import_weasyprint():
    code = ("import sys, registry.documents as d; "
            "assert d.load_pack('emmen-casustafel'); "
            "print('weasyprint' in sys.modules, 'docxtpl' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(REPO)}).stdout
    assert out.split() == ["False", "False"]


def test_rendering_does_import_weasyprint():
    """The lazy-import check above can fail: after a PDF render the module is there."""
    code = ("import sys, registry.documents as d; p = d.load_pack('emmen-casustafel'); "
            "d.render_pdf(p, 'consent', d.ConsentDoc()); print('weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(REPO)}).stdout
    assert out.strip() == "True"
