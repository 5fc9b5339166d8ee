"""Build a pack's ``covenant.docx`` (a docxtpl template) from its HTML covenant.

Why generated: the covenant text must exist once. :func:`build` renders the pack's
``covenant.html`` with a *symbolic* view-model whose fields are marker strings, walks the
resulting HTML and writes the same paragraphs with python-docx, turning the markers back
into docxtpl (Jinja) expressions: ``{%p for party in doc.parties %}`` around the party
paragraph, ``{%tr for %}`` rows in the signatories table, ``{{ doc.municipality }}`` and
so on. Pack-level values (term, themes, age bands) are written as text: they belong to
the pack, as does the template. One builder for every pack; each pack's ``build_docx.py``
only says how its text lists the areas. Run from the repository root after changing the
HTML:

    PYTHONPATH=. python templates/<pack>/build_docx.py
"""

from __future__ import annotations

import re
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

AREAS_IN_TEXT_ORDER = "{{ doc.areas | map(attribute='short_name') | join_nl }}"
AREAS_SORTED = "{{ doc.areas | sort(attribute='short_name') | map(attribute='short_name') | join_nl }}"
"""How a covenant text may list the areas (art. 1): as the covenant has them, or sorted."""

# A date nobody signs on: its Dutch form marks where a date expression goes.
MARK_DATE = date(1111, 1, 1)
MARK_DATE_TEXT = "1 januari 1111"

# marker text in the rendered HTML -> docxtpl expression
INLINE = {
    "§TITLE§": "{{ doc.title }}",
    "§REGION§": "{{ doc.region }}",
    "§MUNICIPALITY§": "{{ doc.municipality }}",
    "§VERSION§": "{{ doc.version }}",
    "§AREANAMES§": "{{ doc.areas | map(attribute='name') | join(', ') }}",
    "§ROLE1§ en §ROLE2§": "{{ doc.table_role_organisations | join_nl }}",
    "§ORG§": "{{ party.organisation }}",
    "§REP§": "{{ party.representative }}",
}
LINE_BREAK = "§BR§"
# The consent form's recipient lines (the covenant's partners and the pack's fixed lines).
RECIPIENT = "§RCPT§"
RECIPIENT_TEXT = ("{{ r.label }}{{ (' ' ~ (r.choices | join(' / '))) if r.choices else '' }}"
                  "{{ (' ' ~ r.note) if (r.note and r.choices) else '' }}")
DOTS = "……………………………………………"

BLOCKS = {"h1", "h2", "h3", "p", "li", "tr", "div"}


def symbolic_covenant(pack_name: str):
    """A CovenantDoc whose every field is a marker the converter recognises."""
    from registry.documents import CaseTable, CovenantDoc, Party
    from registry.documents.viewmodels import Area, RecipientLine
    return CovenantDoc(
        title="§TITLE§", region="§REGION§", municipality="§MUNICIPALITY§", pack=pack_name,
        version="§VERSION§", parties=(Party("§ORG§", "§REP§", MARK_DATE),),
        tables=(CaseTable("§AREAS§", "§AREAS§"),),
        table_role_organisations=("§ROLE1§", "§ROLE2§"), in_force_on=MARK_DATE,
        areas=(Area("§AREANAMES§", "§AREAS§"),), consent_recipients=(RecipientLine(RECIPIENT),))


class Block:
    """One paragraph-to-be: its kind (tag, list level, class) and text."""

    def __init__(self, tag, classes, depth, ordered, number):
        self.tag, self.classes, self.depth = tag, classes, depth
        self.ordered, self.number, self.text, self.cells = ordered, number, "", []


class CovenantHTML(HTMLParser):
    """Flattens the rendered covenant into blocks, footnotes and table rows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.stack: list[tuple[str, set]] = []
        self.lists: list[list] = []          # [ordered, counter]
        self.current: Block | None = None
        self.in_fn = False
        self.fn_text = ""
        self.footnotes: list[str] = []
        self.in_head = False
        self.skip = 0                        # running header, <title>, <style>

    def handle_starttag(self, tag, attrs):
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append((tag, classes))
        if tag in ("head", "title") or "running-header" in classes:
            self.skip += 1
        if self.skip:
            return
        if tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
        elif "fn" in classes:
            self.in_fn, self.fn_text = True, ""
        elif tag == "span" and "sub" in classes and self.current:
            self.current.text += LINE_BREAK
        elif tag == "span" and "line" in classes and self.current:
            self.current.text += DOTS
        elif tag == "span" and "box" in classes and self.current:
            self.current.text += "☐ "
        elif tag == "section" and "annex" in classes:
            self._flush_notes()
            self.blocks.append(Block("pagebreak", classes, 0, False, 0))
        elif tag == "section" and "signing" in classes:
            self._flush_notes()
        elif tag in ("td", "th") and self.current:
            self.current.cells.append("")
        elif tag in BLOCKS:
            self._open(tag, classes)

    def _open(self, tag, classes):
        depth = len(self.lists)
        ordered = bool(self.lists and self.lists[-1][0])
        if tag == "li" and self.lists:
            self.lists[-1][1] += 1
        number = self.lists[-1][1] if self.lists else 0
        table = next((c for t, c in reversed(self.stack) if t == "table"), set())
        block_classes = classes | ({"table"} | table if tag == "tr" else set())
        self.current = Block(tag, block_classes, depth, ordered, number)
        self.blocks.append(self.current)

    def handle_endtag(self, tag):
        _tag, classes = self.stack.pop() if self.stack else (tag, set())
        if tag in ("head", "title") or "running-header" in classes:
            self.skip -= 1
            return
        if self.skip:
            return
        if "fn" in classes and self.in_fn:
            self.in_fn = False
            self.footnotes.append(self.fn_text.strip())
            if self.current:
                self.current.text += f"[^{len(self.footnotes)}]"
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "section" and "annex" in classes:
            self._flush_notes()

    def handle_data(self, data):
        if self.skip:
            return
        if self.in_fn:
            self.fn_text += data
        elif self.current is not None:
            if self.current.tag == "tr" and self.current.cells:
                self.current.cells[-1] += data
            else:
                self.current.text += data

    def _flush_notes(self):
        """Footnotes go at the end of the part they belong to (docx footnotes need
        low-level XML; a notes list reads the same on paper)."""
        for i, note in enumerate(self.footnotes, 1):
            self.blocks.append(Block("note", {"note"}, 0, False, i))
            self.blocks[-1].text = f"{i} {note}"
        self.footnotes = []


def clean(text: str) -> str:
    """Collapse HTML whitespace and turn markers into docxtpl expressions."""
    text = re.sub(r"[ \t\r\n]+", " ", text).strip()
    for marker, expr in INLINE.items():
        text = text.replace(marker, expr)
    return text


def add_field(run, instr: str) -> None:
    """Append a Word field (PAGE, NUMPAGES) to a run."""
    for kind, value in (("begin", None), ("instr", instr), ("separate", None), ("end", None)):
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = value
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def setup_document() -> Document:
    """A4 page, Liberation Sans, running header and 'pagina X van Y' footer."""
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(22)
    section.top_margin, section.bottom_margin = Mm(24), Mm(22)
    style = document.styles["Normal"]
    style.font.name, style.font.size = "Liberation Sans", Pt(10.5)
    header = section.header.paragraphs[0]
    header.text = "{{ doc.title }} {{ doc.region }}"
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("pagina ")
    add_field(footer.add_run(), "PAGE")
    footer.add_run(" van ")
    add_field(footer.add_run(), "NUMPAGES")
    return document


def write_text(paragraph, text: str) -> None:
    """Text with footnote calls [^n] as superscript numbers and line breaks kept."""
    for part in re.split(r"(\[\^\d+\])", text):
        if m := re.fullmatch(r"\[\^(\d+)\]", part):
            paragraph.add_run(m.group(1)).font.superscript = True
        elif part:
            lines = part.split(LINE_BREAK)
            for i, line in enumerate(lines):
                run = paragraph.add_run(line.strip() if len(lines) > 1 else line)
                if i < len(lines) - 1:
                    run.add_break()


def write_signatories(document, rows: list[Block]) -> None:
    """The signatories table; the marker row becomes a ``{%tr for %}`` loop."""
    header, *body = rows
    table = document.add_table(rows=0, cols=len(header.cells))
    table.style = "Table Grid"
    for cells in ([clean(c) for c in header.cells],
                  ["{%tr for party in doc.parties %}"] + [""] * (len(header.cells) - 1),
                  *([clean(c).replace(MARK_DATE_TEXT, "{{ party.signed_on | nl_date }}")
                     for c in row.cells] for row in body),
                  ["{%tr endfor %}"] + [""] * (len(header.cells) - 1)):
        row = table.add_row().cells
        for cell, text in zip(row, cells):
            cell.text = text
    for cell in table.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True


def write_block(document, block: Block) -> None:
    """One block as a paragraph in the right style."""
    text = clean(block.text)
    if block.tag == "pagebreak":
        document.add_page_break()
    elif block.tag in ("h1", "h2", "h3"):
        write_text(document.add_heading(level=int(block.tag[1])), text)
    elif block.tag == "li" and block.ordered:
        # Written-out numbers: Word's shared "List Number" numbering would run on from
        # the considerations into the Stappenplan.
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.left_indent = Mm(7 * block.depth)
        paragraph.paragraph_format.first_line_indent = Mm(-7)
        marker = str(block.number) if block.depth <= 1 else "abcdefghijklmnop"[block.number - 1]
        write_text(paragraph, f"{marker}.\t{text}")
    elif block.tag == "li":
        style = "List Bullet" if block.depth <= 1 else "List Bullet 2"
        write_text(document.add_paragraph(style=style), text)
    elif block.tag == "tr":
        write_text(document.add_paragraph(), "\t".join(clean(c) for c in block.cells))
    elif block.tag == "note":
        paragraph = document.add_paragraph()
        paragraph.add_run(text).font.size = Pt(8.5)
    elif text:
        write_text(document.add_paragraph(), text)


def wrap_loops(blocks: list[Block]) -> list[Block]:
    """Put ``{%p for %}`` around the party paragraph and ``{%p if %}`` around the
    in-force sentence: docxtpl paragraph tags must stand alone in their paragraph."""
    out = []
    for block in blocks:
        text = block.text
        if block.tag == "p" and "§ORG§" in text:
            out += [_tag("{%p for party in doc.parties %}"), block, _tag("{%p endfor %}")]
        elif RECIPIENT in text:
            block.text = text.replace(RECIPIENT, RECIPIENT_TEXT)
            out += [_tag("{%p for r in doc.consent_recipients %}"), block, _tag("{%p endfor %}")]
        elif block.tag == "p" and MARK_DATE_TEXT in text:
            block.text = text.replace(MARK_DATE_TEXT, "{{ doc.in_force_on | nl_date }}")
            out += [_tag("{%p if doc.in_force_on %}"), block, _tag("{%p endif %}")]
        else:
            out.append(block)
    return out


def _tag(text: str) -> Block:
    block = Block("p", set(), 0, False, 0)
    block.text = text
    return block


def build(pack_dir: Path, out: Path | None = None, areas: str = AREAS_SORTED) -> Path:
    """Render the pack's covenant HTML symbolically and write its docxtpl template
    (default ``<pack_dir>/covenant.docx``); ``areas`` is the expression the text lists
    the areas with (:data:`AREAS_SORTED` or :data:`AREAS_IN_TEXT_ORDER`)."""
    from registry.documents import load_pack, render_html
    pack_dir = Path(pack_dir).resolve()
    out = out or pack_dir / "covenant.docx"
    pack = load_pack(pack_dir.name, pack_dir.parent)
    parser = CovenantHTML()
    parser.feed(render_html(pack, "covenant", symbolic_covenant(pack_dir.name)))
    blocks = wrap_loops(parser.blocks)
    for block in blocks:  # the pack's way of listing the areas
        block.text = (block.text or "").replace("§AREAS§", areas)
        if getattr(block, "cells", None):
            block.cells = [cell.replace("§AREAS§", areas) for cell in block.cells]
    document = setup_document()
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.tag == "tr" and "signatories" in block.classes:
            rows = [b for b in blocks[i:] if b.tag == "tr" and "signatories" in b.classes]
            write_signatories(document, rows)
            i += len(rows)
            continue
        write_block(document, block)
        i += 1
    document.core_properties.title = pack.title  # the region is the covenant's, not the pack's
    document.core_properties.language = pack.language
    document.save(out)
    _fix_zip_timestamps(out)
    return out


def _fix_zip_timestamps(path: Path) -> None:
    """Rewrite the .docx zip with fixed entry dates so a rebuild of unchanged HTML
    gives identical bytes (and no spurious diff in git)."""
    import zipfile
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in entries:
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, data)


if __name__ == "__main__":
    sys.exit(print(build(Path(sys.argv[1]))))
