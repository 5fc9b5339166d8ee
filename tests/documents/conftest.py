"""Fixtures for the document tests: the Emmen pack, view-models in named states,
rendered PDFs (rendered once per session: WeasyPrint is the slow part) and helpers
that read a PDF back the way a person or a checker would."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import pypdf
import pytest

from registry.documents import (ConsentDoc, DeclarationDoc, Party, covenant_from_pack,
                                     load_pack, render_pdf)

PACK = "emmen-casustafel"


def pdf_text(pdf: bytes, *, layout: bool = False) -> str:
    """Text of a PDF as poppler's pdftotext reads it (an independent reader)."""
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + ["-", "-"]
    return subprocess.run(args, input=pdf, capture_output=True, check=True).stdout.decode()


def pdf_reader(pdf: bytes) -> pypdf.PdfReader:
    """pypdf reader over PDF bytes."""
    return pypdf.PdfReader(io.BytesIO(pdf))


@pytest.fixture(scope="session")
def pack():
    return load_pack(PACK)


def signed_covenant(pack):
    """The covenant as signed by all founding partners; in force on the last signature."""
    parties = tuple(Party(p.organisation, p.representative, date(2025, 5, 1 + i))
                    for i, p in enumerate(pack.founding_partners))
    return covenant_from_pack(pack, parties=parties, in_force_on=date(2025, 5, 8))


@pytest.fixture(scope="session")
def covenant_vm(pack):
    return signed_covenant(pack)


@pytest.fixture(scope="session")
def covenant_pdf(pack, covenant_vm):
    return render_pdf(pack, "covenant", covenant_vm)


@pytest.fixture(scope="session")
def structural_declaration():
    return DeclarationDoc(kind="structural", table_name="Emmen-Noord",
                          person_name="A.B. de Vries", organisation="GGD Drenthe",
                          function="Jeugdverpleegkundige", signed_on=date(2025, 5, 20),
                          place="Emmen")


@pytest.fixture(scope="session")
def incidental_declaration():
    return DeclarationDoc(kind="incidental", table_name="De Monden",
                          person_name="K. Pieters", organisation="Huisartsenpraktijk Zuid",
                          function="Praktijkondersteuner", case_ref="CT-2025-014",
                          signed_on=date(2025, 6, 3))


@pytest.fixture(scope="session")
def consent():
    return ConsentDoc(resident_name="Jan Jansen", resident_birth_date=date(2009, 3, 4),
                      signed_by="resident_and_parents",
                      purpose="passende begeleiding bij wonen en dagbesteding te vinden",
                      categories=("name_address", "current_support"),
                      recipients=("GGD Drenthe", "Woningcorporatie Lefier", "VNN"),
                      other_recipients="Buurtteam Angelslo", case_ref="CT-2025-014",
                      table_name="Emmen-Noord", signed_on=date(2025, 6, 2))


@pytest.fixture(scope="session")
def text_of_pdf():
    """The pdftotext reader as a fixture (test modules here are not a package)."""
    return pdf_text


@pytest.fixture(scope="session")
def read_pdf():
    """The pypdf reader as a fixture."""
    return pdf_reader
