"""Read generated documents back the way a person would: PDF text via poppler's
pdftotext (an independent reader), DOCX text via python-docx."""

from __future__ import annotations

import io
import re
import subprocess


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """Text of a PDF as pdftotext reads it."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + ["-", "-"]
    return subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode()


def one_line(text: str) -> str:
    """Whitespace (line breaks included) collapsed to single spaces."""
    return re.sub(r"\s+", " ", text)


def ticked(pdf: bytes) -> set[str]:
    """The lines of a form that have an X in their box."""
    layout = pdf_text(pdf, layout=True)
    return {m.group(1).strip() for m in re.finditer(r"^\s*X\s+(\S.*)$", layout, re.M)}


def docx_text(data: bytes) -> str:
    """All paragraph and table-cell text of a DOCX."""
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)
