"""The text a signer agrees to before signing electronically (*toestemming elektronisch ondertekenen*).

Each version is kept forever: a signing request records the version and the SHA-256
of the exact text shown (``SigningRequest.disclosure_version``/``disclosure_sha256``),
so we can later show what someone agreed to. Never edit a published version; add a
new one and point ``CURRENT_VERSION`` at it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DISCLOSURES: dict[str, str] = {
    "2026-1": (
        "Elektronisch ondertekenen\n"
        "\n"
        "U ondertekent dit document elektronisch. Door uw volledige naam te typen, het "
        "vakje 'Ik ga akkoord' aan te vinken en op 'Ondertekenen' te klikken, verklaart u:\n"
        "\n"
        "1. dat u de persoon bent aan wie deze uitnodiging is gestuurd;\n"
        "2. dat u het document hebt gelezen zoals het op deze pagina wordt getoond;\n"
        "3. dat u het eens bent met de inhoud en dat uw elektronische handtekening "
        "dezelfde betekenis heeft als een handtekening op papier (artikel 3:15a Burgerlijk "
        "Wetboek);\n"
        "4. dat u ermee instemt dat wij vastleggen wanneer u het document opende en "
        "ondertekende, vanaf welk IP-adres en met welke browser, als bewijs van uw "
        "ondertekening. Deze gegevens bewaren wij zo lang als het document zelf en "
        "gebruiken wij alleen voor dat doel.\n"
        "\n"
        "Het ondertekende document wordt verzegeld met het elektronisch zegel van de "
        "dienst, zodat iedereen kan controleren dat het daarna niet is gewijzigd. U "
        "ontvangt een kopie.\n"
        "\n"
        "Wilt u liever op papier tekenen, of niet tekenen? Dat mag. Kies dan 'Weigeren' "
        "of neem contact op met de coördinator van de casustafel. Een ondertekening "
        "kunt u niet elektronisch intrekken; een toestemming (Bijlage 4) kunt u altijd "
        "intrekken via de coördinator.\n"
    ),
}

CURRENT_VERSION = "2026-1"


@dataclass(frozen=True)
class Disclosure:
    """One version of the disclosure text with its hash."""

    version: str
    text: str
    sha256: str


def get_disclosure(version: str | None = None) -> Disclosure:
    """Return the given version (default: the current one); KeyError if unknown."""
    version = version or CURRENT_VERSION
    text = DISCLOSURES[version]
    return Disclosure(version, text, hashlib.sha256(text.encode("utf-8")).hexdigest())
