"""The catalogues are complete: every text of the service's own is in ``_()`` and has an
English translation. Fails on an untranslated string (issue 11, "Done when")."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from forms_service.i18n import EXTRACT_KEYWORDS

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "forms_service" / "translations"
ENGLISH = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)s")

TEMPLATE_ROOTS = (ROOT / "forms_service" / "templates", ROOT / "registry" / "documents" / "common")
"""The service's own templates. Pack document templates (``templates/<pack>/``) are the
pack's covenant and annex texts and stay in the pack's language."""

ALLOWED_WORDS = {
    # names of things, the same in both languages
    "PDF", "ZIP", "CSV", "DOCX", "JSON", "SHA", "QR", "API", "IP", "PAdES", "OIDC", "TOTP",
    "Nederlands", "English", "pdfsig", "Adobe", "Acrobat",
    "forms-service",  # the product's name (the API documentation page's title)
    "signing-pages",  # a CSS class in {% block body_class %}, not a text
}
"""Words a template may show outside ``_()``: formats, standards and the language names."""


def _extracted() -> set[str]:
    """Every message id in the code now, extracted with babel.cfg as ``pybabel extract`` does."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, **{k: None for k in EXTRACT_KEYWORDS}}
    ids = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords):
        ids.add(message if isinstance(message, str) else message[0])
    ids.discard("")
    return ids


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


def _catalogue(path: Path):
    with open(path, "rb") as f:
        return read_po(f)


def _singular(message_id):
    """A message's id as extraction names it: the singular of a plural (ngettext) message."""
    return message_id if isinstance(message_id, str) else message_id[0]


def test_every_message_has_a_real_english_translation(extracted):
    english = _catalogue(ENGLISH)
    problems = []
    for message in english:
        if not message.id:
            continue
        # a plural (ngettext) has a tuple of ids (singular, plural) and one string per form
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = (message.string,) if isinstance(message.string, str) else tuple(message.string or ())
        if not strings or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif any(sorted(PLACEHOLDER.findall(ids[min(i, len(ids) - 1)])) != sorted(PLACEHOLDER.findall(s))
                 for i, s in enumerate(strings)):
            problems.append(f"placeholders differ: {message.id!r} → {message.string!r}")
    assert not english.fuzzy, "the catalogue header is marked fuzzy: pybabel compile would skip it"
    assert not problems, "\n".join(problems)


def test_the_catalogues_in_the_repository_match_the_code(extracted):
    english = {_singular(m.id) for m in _catalogue(ENGLISH) if m.id}
    template = {_singular(m.id) for m in _catalogue(TRANSLATIONS / "messages.pot") if m.id}
    how = "run the pybabel extract and update commands in forms_service/i18n.py and translate"
    assert not extracted - english, f"not in the English catalogue ({how}): {sorted(extracted - english)}"
    assert not english - extracted, f"obsolete in the English catalogue ({how}): {sorted(english - extracted)}"
    assert template == extracted, f"messages.pot is out of date ({how}): {sorted(template ^ extracted)}"


class _Texts(HTMLParser):
    """The words a person reads: text between tags and the attributes shown to people."""

    SHOWN = {"title", "placeholder", "aria-label", "alt", "data-label"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._raw = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._raw += 1
        for name, value in attrs:
            if value and (name in self.SHOWN or (tag == "input" and name == "value"
                                                and dict(attrs).get("type") in ("submit", "button"))):
                self.found.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            self._raw -= 1

    def handle_data(self, data):
        if not self._raw:
            self.found.append(data)


def _literal_texts(env, source: str) -> list[str]:
    """Texts of a template outside ``_()``: Jinja's lexer gives the ``data`` tokens (outside
    ``{% trans %}`` blocks); every other token becomes a marker, then HTML is parsed."""
    parts, in_trans, previous_block = [], False, None
    for _line, kind, value in env.lex(source):
        if kind == "name" and previous_block == "block_begin":
            in_trans = value == "trans" or (in_trans and value != "endtrans")
        if kind in ("block_begin", "variable_begin", "name", "whitespace"):
            previous_block = kind if kind != "whitespace" else previous_block
        else:
            previous_block = None
        if kind == "data" and not in_trans:
            parts.append(value)
        elif not parts or parts[-1] != "\x00":
            parts.append("\x00")
    parser = _Texts()
    parser.feed("".join(parts))
    parser.close()
    words = []
    for text in parser.found:
        for word in re.findall(r"[^\W\d_][\w'-]*", text.replace("\x00", " ")):
            if word not in ALLOWED_WORDS and not word.startswith("SHA"):
                words.append(word)
    return words


def _templates():
    for root in TEMPLATE_ROOTS:
        for path in sorted(root.rglob("*.html")) + sorted(root.rglob("*.txt")):
            yield path


@pytest.fixture(scope="module")
def env():
    """A Jinja environment with the syntax of the app's (the i18n extension): lexing only."""
    import jinja2

    return jinja2.Environment(extensions=["jinja2.ext.i18n"])


def test_no_template_shows_text_outside_the_catalogue(env):
    problems = {}
    for path in _templates():
        words = _literal_texts(env, path.read_text(encoding="utf-8"))
        if words:
            problems[str(path.relative_to(ROOT))] = words[:12]
    assert not problems, "text outside _() in templates:\n" + "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_the_lexer_check_finds_a_literal_word(env):
    assert _literal_texts(env, '<p>{{ _("Opslaan") }}</p><button title="Klik">{{ x }}</button>') == ["Klik"]
    assert _literal_texts(env, "<p>Opslaan {{ x }}</p>") == ["Opslaan"]
    assert _literal_texts(env, '<a href="{{ u }}" data-x="abc">PDF</a><style>p { color: red }</style>') == []
    assert _literal_texts(env, "{% trans %}Tekst met <b>opmaak</b>{% endtrans %}") == []
