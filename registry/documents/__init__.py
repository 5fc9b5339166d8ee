"""Documents of a covenant: the covenant itself and its annexes, as PDF and DOCX.

Texts live in template packs (``templates/<pack>/``); this package finds packs, holds
the view-models the templates read and renders them. Importing it does not import
WeasyPrint (that happens on the first PDF render).
"""

from registry.packs import (Pack, PackError, UnknownPackError, list_packs, load_pack,
                    packs_dir)
from .render import (DEFAULT_PDF_VARIANT, PDF_VARIANTS, FetchRefused, RenderedDocument,
                     dutch_date, render_docx, render_html, render_pdf)
from .viewmodels import (CaseTable, ConsentDoc, CovenantDoc, DeclarationDoc, Party,
                         covenant_from_pack)

__all__ = [
    "CaseTable", "ConsentDoc", "CovenantDoc", "DEFAULT_PDF_VARIANT", "DeclarationDoc",
    "FetchRefused", "PDF_VARIANTS", "Pack", "PackError", "Party", "RenderedDocument",
    "UnknownPackError", "covenant_from_pack", "dutch_date", "list_packs", "load_pack",
    "packs_dir", "render_docx", "render_html", "render_pdf",
]
