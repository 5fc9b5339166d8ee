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


# ----------------------------------------------------------------------------- error texts in registry/ and signatures/

CORE_ROOTS = (ROOT / "registry", ROOT / "signatures")
"""The Flask-free cores: their texts for people go through ``registry.texts._`` / ``N_``."""

ERROR_CLASSES = {"DomainError", "ValidationError", "NotFound", "Conflict", "Forbidden", "BadRequest", "Archived",
                 "Gone", "NotEntitled", "SigningError"}
"""The exceptions whose message and field texts reach a person (a page, the API's error)."""

ERROR_TARGET = re.compile(r"error|field|problem|message|reason", re.I)
"""Names of the dicts and variables that hold error texts (``errors[...] = …``, ``message = …``)."""

CODE = re.compile(r"[a-z0-9_.:/\[\]{}-]*")
"""A string that is a code or a field name (``not_signed``, ``cases[0].theme``), not a text."""

SENTENCE = re.compile(r"^[A-Z].* .*[.?!]$", re.S)
"""A module constant that reads as a sentence for people: it must be marked ``N_``."""

KEPT_AS_WRITTEN = {("signatures/disclosure.py", "DISCLOSURES")}
"""Constants that stay in the pack's language on purpose: the versioned electronic-signing
consent, whose SHA-256 is recorded with every signature."""


def _is_text(node) -> bool:
    """A literal a person would read: a string with words, an f-string, ``"…" + x``, ``"…".format()``."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[^\W\d_]", node.value)) and not CODE.fullmatch(node.value)
    if isinstance(node, ast.JoinedStr):
        literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        return bool(re.search(r"[^\W\d_]", literal)) and not CODE.fullmatch(literal)
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_text(node.func.value)
    return False


def _texts_in(node):
    """The literal texts in an argument: itself, or the values of a dict / items of a tuple."""
    import ast

    if _is_text(node):
        yield node
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _texts_in(value)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for value in node.elts:
            yield from _texts_in(value)


def _name(node) -> str:
    import ast

    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def untranslated_error_texts(source: str) -> list[tuple[int, str]]:
    """(line, code) of every text for people in ``source`` that bypasses ``_()``: a literal
    raised as (or passed in the fields of) an error, assigned as an error text
    (``errors[...] = "…"``, ``message = f"…"``), ``_()`` of an f-string or a formatted
    string, a date filled into ``_()`` as it is or as ``.isoformat()`` (not through
    ``texts.long_date``), and a module constant that
    is a sentence without ``N_``."""
    import ast

    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in ERROR_CLASSES:
                for arg in node.args:
                    found += _texts_in(arg)
                found += [t for k in node.keywords if k.arg != "code" for t in _texts_in(k.value)]
            elif name == "_":
                if node.args and not isinstance(node.args[0], (ast.Constant, ast.Name, ast.Subscript, ast.Attribute)):
                    found.append(node.args[0])
                found += [sub for k in node.keywords for sub in ast.walk(k.value)
                          if isinstance(sub, ast.Call) and _name(sub.func) == "isoformat"]
                # a date filled in as it is (``signed_on=row.signed_on``) reads 2025-05-12: use long_date
                found += [k.value for k in node.keywords if isinstance(k.value, (ast.Name, ast.Attribute))
                          and _name(k.value).endswith("_on")]
            elif name == "setdefault" and ERROR_TARGET.search(_name(node.func.value)) and len(node.args) == 2:
                found += _texts_in(node.args[1])
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                base = target.value if isinstance(target, ast.Subscript) else target
                if ERROR_TARGET.search(_name(base)):
                    found += _texts_in(node.value)
    return [(n.lineno, ast.unparse(n)[:100]) for n in found]


def unmarked_constants(source: str, path: str = "") -> list[tuple[int, str]]:
    """(line, text) of every sentence in a module-level constant that is not in ``N_()``/``_()``."""
    import ast

    problems = []
    for statement in ast.parse(source).body:
        if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is None:
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if any((path, _name(t)) in KEPT_AS_WRITTEN for t in targets):
            continue
        marked = {id(a) for node in ast.walk(statement.value) if isinstance(node, ast.Call)
                  and _name(node.func) in ("N_", "_") for a in node.args}
        problems += [(node.lineno, node.value[:100]) for node in ast.walk(statement.value)
                     if isinstance(node, ast.Constant) and isinstance(node.value, str)
                     and SENTENCE.match(node.value) and id(node) not in marked]
    return problems


def test_no_error_text_in_the_cores_bypasses_the_catalogue():
    problems = []
    for root in CORE_ROOTS:
        for path in sorted(root.rglob("*.py")):
            source, name = path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
            problems += [f"{name}:{line}: {code}" for line, code in untranslated_error_texts(source)]
            problems += [f"{name}:{line}: {text!r} (mark it N_ and show it with _())"
                         for line, text in unmarked_constants(source, name)]
    assert not problems, ("texts for people outside _() in registry/ or signatures/ (wrap them: "
                          "_('… %(name)s …', name=value), dates with texts.long_date):\n" + "\n".join(problems))


def test_the_error_text_check_finds_what_it_should():
    found = untranslated_error_texts(
        'raise NotFound(f"Persoon {i} bestaat niet.", {"person": "Bestaat niet."})\n'
        'errors["name"] = "Vul de naam in."\n'
        'errors[f"cases[{i}].ref"] = "Kies " + ", ".join(keys) + "."\n'
        'message = f"Te lang (maximaal {n} tekens)."\n'
        'raise Conflict(_(f"Al {label}."))\n'
        'raise Conflict(_("Al getekend op %(d)s.", d=signed_on.isoformat()))\n'
        'raise Conflict(_("Al getekend op %(signed_on)s.", signed_on=row.signed_on))\n')
    assert sorted(line for line, _code in found) == [1, 1, 2, 3, 4, 5, 6, 7]
    assert untranslated_error_texts(
        'raise NotFound(_("Persoon %(id)s bestaat niet.", id=i), {"person": _("Bestaat niet.")})\n'
        'errors["name"] = _("Vul de naam in.")\n'
        'raise Conflict(text, {"status": "not_signed"}, code="not_signed")\n'
        'raise Conflict(_("Al getekend op %(d)s.", d=long_date(row.signed_on)))\n'
        'field = f"cases[{i}].theme"\n') == []
    assert unmarked_constants('A = "Het zegel is van ons."\nB = N_("Het zegel is van ons.")\nC = "not_signed"\n') == \
        [(1, "Het zegel is van ons.")]
