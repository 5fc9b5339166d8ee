"""Rebuild this pack's covenant.docx from covenant.html with the one builder,
registry/documents/docx_template.py. Run from the repository root after changing the HTML:

    PYTHONPATH=. python templates/neteland-casusoverleg/build_docx.py
"""

from pathlib import Path

from registry.documents import docx_template

HERE = Path(__file__).resolve().parent


def build(out: Path = HERE / "covenant.docx") -> Path:
    """Write the docxtpl template (the text lists the tables: AREAS_IN_TEXT_ORDER)."""
    return docx_template.build(HERE, out, areas=docx_template.AREAS_IN_TEXT_ORDER)


if __name__ == "__main__":
    print(build())
