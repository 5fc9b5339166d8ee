"""The one document renderer: view-model -> HTML -> PDF (WeasyPrint), or -> DOCX (docxtpl).

Why it looks like this:

* Templates come from a template pack and read a plain view-model (``doc``) plus the
  pack itself (``pack``); autoescape is on and undefined names fail loudly, so a field
  typed by a user can never become markup and a template typo never prints blank.
* WeasyPrint costs about a second to import; it is imported inside :func:`render_pdf`
  only, so importing this package (and the Flask app) stays fast.
* The URL fetcher serves files from the pack folder and nothing else: no network, no
  other files. Fonts and the stylesheet come from the pack, so every PDF embeds the
  same fonts wherever it is rendered.
* No clock: the PDF creation/modification date is taken from the data (signing or
  in-force date), so the same view-model always gives the same bytes.
"""

from __future__ import annotations

import base64

import io
import mimetypes
import zipfile
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jinja2

from registry import texts
from registry.packs import Pack
from .viewmodels import ConsentDoc, CovenantDoc, DeclarationDoc, with_pack_defaults

#: PDF variants this renderer supports. PDF/A-3b is the default: the archival format
#: that still allows embedded files (evidence, source data) and PAdES sealing.
PDF_VARIANTS = ("pdf/a-3b", "pdf/ua-1")
DEFAULT_PDF_VARIANT = "pdf/a-3b"

_MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli",
              "augustus", "september", "oktober", "november", "december")


class FetchRefused(ValueError):
    """A document asked for a resource outside its template pack; it is not fetched."""


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered PDF with the HTML it came from (tests and previews read the HTML)."""

    html: str
    pdf: bytes


# --- formatting helpers used as Jinja filters ---------------------------------------

def dutch_date(value: date | None) -> str:
    """A date in Dutch long form, e.g. ``12 mei 2025``; None gives an empty string."""
    if value is None:
        return ""
    return f"{value.day} {_MONTHS_NL[value.month - 1]} {value.year}"


def join_nl(items) -> str:
    """Join as Dutch prose: ``a, b en c``."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " en " + items[-1]


# --- HTML ---------------------------------------------------------------------------

COMMON_TEMPLATES = Path(__file__).resolve().parent / "common"
"""Templates every pack shares unless it brings its own file of the same name: the
signature pages and certificate of completion (``signing_pages.html``), which extend the
pack's own ``base.html`` and so wear its style and fonts. Only Jinja reads them; the PDF
fetcher still serves nothing but the pack's own files."""


def _long_date(value) -> str:
    """An ISO date (or date) as "12 mei 2025" in the current language (registry.texts)."""
    import datetime as dt

    if isinstance(value, str) and value:
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return texts.long_date(value or None)


@lru_cache(maxsize=32)
def _environment(pack_path: Path) -> jinja2.Environment:
    """One Jinja environment per pack folder (its own templates first, then the common
    ones), cached so templates compile once."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(pack_path)),
                                    jinja2.FileSystemLoader(str(COMMON_TEMPLATES))]),
        autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["nl_date"] = dutch_date
    env.filters["join_nl"] = join_nl
    # The service's own labels (signature page, certificate) through registry.texts; the
    # pack's covenant and annex texts do not use _() and stay in the pack's language.
    env.filters["long_date"] = _long_date
    env.filters["local_time"] = texts.local_time
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(texts.translate, lambda s, p, n: texts.translate(s if n == 1 else p), newstyle=True)
    return env


def _template_file(pack: Pack, template: str) -> str:
    """Accept a document kind from the manifest (``covenant``) or a file name."""
    for kind, filename in pack.documents:
        if kind == template:
            return filename
    return template


def document_date(vm) -> date | None:
    """The date a document is 'of', derived from its data (never from the clock)."""
    if isinstance(vm, CovenantDoc):
        return vm.in_force_on or vm.last_signed_on()
    if isinstance(vm, (DeclarationDoc, ConsentDoc)):
        return vm.signed_on
    return getattr(vm, "signed_on", None) or getattr(vm, "exported_on", None)


def render_html(pack: Pack, template: str, vm) -> str:
    """Render ``template`` (a manifest document kind or file name) of ``pack`` with the
    view-model ``vm`` as ``doc``. Consent view-models are checked against the pack.
    What the view-model leaves empty (region, municipality, areas, recipient lines)
    comes from the pack: the pack supplies defaults, the covenant its own data."""
    vm = with_pack_defaults(vm, pack)
    if isinstance(vm, ConsentDoc):
        vm.check_against(pack)
    tmpl = _environment(pack.path).get_template(_template_file(pack, template))
    when = document_date(vm)
    return tmpl.render(doc=vm, pack=pack, document_date=when.isoformat() if when else "")


# --- PDF ----------------------------------------------------------------------------

def resolve_pack_url(pack_root: Path, url: str) -> Path:
    """The file a ``file://`` URL points to, if it lies inside ``pack_root``.

    Raises :class:`FetchRefused` for every other scheme (http, https, data, ftp...),
    for hosts, for paths outside the pack (also through ``..`` or symlinks) and for
    files that do not exist.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise FetchRefused(f"only files of the template pack are served, not {url!r}")
    root = Path(pack_root).resolve()
    target = Path(url2pathname(unquote(parts.path))).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise FetchRefused(f"{url!r} is not a file inside the template pack")
    return target


INLINE_PNG = "data:image/png;base64,"


def make_url_fetcher(pack_root: Path):
    """A WeasyPrint URL fetcher that only serves files inside ``pack_root`` (and inline
    ``data:image/png;base64`` images, the drawn signatures; no other data: URL).

    Built on demand because WeasyPrint's ``URLFetcher`` base class lives in the
    WeasyPrint package, which is imported lazily.
    """
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class PackURLFetcher(URLFetcher):
        """Serves pack files from disk; refuses everything else before any I/O."""

        def fetch(self, url, headers=None):
            if url.startswith(INLINE_PNG):
                # A drawn signature: inline data, nothing is read from disk or network.
                return URLFetcherResponse(url[:64], base64.b64decode(url[len(INLINE_PNG):], validate=True),
                                          {"Content-Type": "image/png"})
            path = resolve_pack_url(pack_root, url)
            mime, _encoding = mimetypes.guess_type(path.name)
            return URLFetcherResponse(url, path.read_bytes(),
                                      {"Content-Type": mime or "application/octet-stream"})

    # allowed_protocols is a second fence in case fetch() is bypassed by a subclass.
    return PackURLFetcher(allowed_protocols={"file", "data"}, allow_redirects=False)


def _pdf_options(variant: str | None) -> dict:
    """write_pdf options for a variant. PDF/UA-1 switches on tagging itself; the
    archival PDF/A-3b stays untagged because tags cost about 10 % render time and the
    signed archive copy is not the one people read with a screen reader."""
    if variant is not None and variant not in PDF_VARIANTS:
        raise ValueError(f"unsupported PDF variant {variant!r}; choose from {PDF_VARIANTS}")
    return {"pdf_variant": variant} if variant else {}


def render_pdf(pack: Pack, template: str, vm, *,
               variant: str | None = DEFAULT_PDF_VARIANT) -> RenderedDocument:
    """Render ``template`` of ``pack`` for ``vm`` to PDF (A4, embedded pack fonts).

    ``variant`` is ``"pdf/a-3b"`` (default, archival), ``"pdf/ua-1"`` (accessible) or
    None (plain PDF). Title, subject, author and language come from the template's
    ``<title>``, ``<meta>`` and ``<html lang>``; dates from the data.
    """
    from weasyprint import HTML  # lazy: about 1 s to import

    html = render_html(pack, template, vm)
    document = HTML(string=html, base_url=pack.path.as_uri() + "/",
                    url_fetcher=make_url_fetcher(pack.path))
    return RenderedDocument(html=html, pdf=document.write_pdf(**_pdf_options(variant)))


# --- DOCX ---------------------------------------------------------------------------

def render_docx(pack: Pack, template: str, vm) -> bytes:
    """Fill a docxtpl template of ``pack`` (manifest kind or file name) with ``vm``.

    The context is the same as for HTML (``doc``, ``pack``) plus pre-formatted dates,
    because docxtpl templates are edited in Word where filters are awkward.
    """
    from docxtpl import DocxTemplate  # lazy: keeps app start-up light

    path = pack.path / _template_file(pack, template)
    if not path.resolve().is_relative_to(pack.path):
        raise FetchRefused(f"{template!r} is not inside the template pack")
    tpl = DocxTemplate(str(path))
    jinja_env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    jinja_env.filters["nl_date"] = dutch_date
    jinja_env.filters["join_nl"] = join_nl
    tpl.render({"doc": with_pack_defaults(vm, pack), "pack": pack}, jinja_env=jinja_env)
    out = io.BytesIO()
    tpl.save(out)
    return _without_zip_timestamps(out.getvalue())


def _without_zip_timestamps(data: bytes) -> bytes:
    """Rewrite a zip (a .docx) with fixed entry dates: the zip writer stamps the
    clock, and the same view-model should give the same bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, payload)
    return out.getvalue()
