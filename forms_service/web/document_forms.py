"""WTForms for the covenant and its annexes (Bijlage 1, 2 and 4), with Dutch labels and
messages.

The forms only check what a form can know (required, length, e-mail shape, dates);
the rules (does the representative work there, is the category on this pack's form)
stay in :mod:`registry.services`, whose per-field errors the views put back on these
fields.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
import datetime as dt

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, EmailField, FieldList, Form, FormField, HiddenField,
                     RadioField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from forms_service.api.schema import parse_date
from registry import limits

REQUIRED = _l("Dit veld is verplicht.")
SIGNERS = [("resident", _l("De inwoner")), ("parents", _l("Ouders/verzorgers")),
           ("resident_and_parents", _l("Inwoner én ouders/verzorgers"))]


class DutchMeta:
    """WTForms' own messages (invalid choice, invalid date) in the page's language: Dutch
    unless the person chose English (forms_service/i18n.py)."""

    @property
    def locales(self) -> tuple[str, ...]:
        """The page's language, read per form (so a form class serves both languages)."""
        from flask_babel import get_locale

        return (str(get_locale() or "nl"),)


def optional_id(value) -> int | None:
    """A select value as an id; the empty choice is None."""
    return int(value) if value not in (None, "", "None") else None


INVALID_DATE = _l("Geen geldige datum; gebruik JJJJ-MM-DD.")
"""The one message for a date a form cannot read (never "Vul de datum in")."""


def parse_form_date(text: str | None) -> dt.date | None:
    """A form's ``YYYY-MM-DD`` as a date (years MIN_YEAR … MAX_YEAR); None when empty;
    ValueError with :data:`INVALID_DATE` when it is not a date. The one parser of dates
    typed into a web form (:class:`DateInput`, the paper signature on ``/ondertekening``)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise ValueError(INVALID_DATE) from None


class DateWidget(widgets.DateInput):
    """``<input type=date>``; while the field holds text that is no date, a text input
    with exactly what was typed (a date input would show it empty)."""

    def __call__(self, field, **kwargs):
        if field.raw_data and field.process_errors:
            kwargs.setdefault("inputmode", "numeric")
            kwargs.setdefault("placeholder", "JJJJ-MM-DD")
            return widgets.TextInput()(field, **kwargs)
        return super().__call__(field, **kwargs)


class DateInput(DateField):
    """A date of a web form: optional, or with ``required`` the message for an empty
    field. A date it cannot read ("2026-13-45") keeps what was typed and says
    :data:`INVALID_DATE` (also when the field is required)."""

    widget = DateWidget()

    def __init__(self, label=None, validators=None, required: str | None = None, **kwargs):
        chain = [InputRequired(required)] if required else [Optional()]
        super().__init__(label, [*chain, *(validators or [])], format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist):
        """Parse ``YYYY-MM-DD`` with :func:`parse_form_date`."""
        if not valuelist:
            return
        self.data = None
        self.data = parse_form_date(" ".join(valuelist))


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (the form reads like the paper form)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


# ----------------------------------------------------------------------------- covenant


class PartnerRow(Form):
    """One partner with its representative (*vertegenwoordigd door*); a blank row is skipped."""

    Meta = DutchMeta
    organisation = StringField(_l("Organisatie"), [Length(max=200, message=_l("Maximaal 200 tekens."))])
    name = StringField(_l("Naam vertegenwoordiger"), [Length(max=200, message=_l("Maximaal 200 tekens."))])
    initials = StringField(_l("Voorletters"), [Length(max=40, message=_l("Maximaal 40 tekens."))])
    function = StringField(_l("Functie"), [Length(max=200, message=_l("Maximaal 200 tekens."))])
    email = EmailField(_l("E-mailadres"), [Optional(), Email(_l("Vul een geldig e-mailadres in."))])

    def is_blank(self) -> bool:
        """Nothing typed in this row."""
        return not any((f.data or "").strip() for f in (self.organisation, self.name, self.initials, self.function, self.email))

    def validate(self, extra_validators=None) -> bool:
        """A row that is filled in needs an organisation and a representative."""
        ok = super().validate(extra_validators)
        if self.is_blank():
            return ok
        for field, message in ((self.organisation, "Vul de organisatie in."), (self.name, "Vul de naam van de vertegenwoordiger in.")):
            if not (field.data or "").strip():
                field.errors = [*field.errors, message]
                ok = False
        return ok


class TableRow(Form):
    """The case table of one area of the pack, with chair and coordinator."""

    Meta = DutchMeta
    area = HiddenField()
    enabled = BooleanField(_l("Casustafel openen"))
    chair_id = SelectField(_l("Voorzitter"), coerce=optional_id, validate_choice=True)
    coordinator_id = SelectField(_l("Coördinator"), coerce=optional_id, validate_choice=True)


class CovenantForm(FlaskForm):
    """A draft covenant: texts from a template pack, partners and their tables."""

    Meta = DutchMeta
    title = StringField(_l("Titel"), [DataRequired(REQUIRED), Length(max=limits.TITLE_MAX, message=_l("Maximaal 300 tekens."))])
    region = StringField(_l("Regio"), [DataRequired(REQUIRED), Length(max=200, message=_l("Maximaal 200 tekens."))])
    municipality = StringField(_l("Gemeente"), [Length(max=200, message=_l("Maximaal 200 tekens."))])
    areas = TextAreaField(_l("Gebieden (één per regel)"), [Length(max=20000, message=_l("Te lang."))])
    pack = SelectField(_l("Sjabloonpakket"), [DataRequired(_l("Kies een sjabloonpakket."))])
    # Shown only when the pack offers chair models; its choices come from the registry.
    chair_model = SelectField(_l("Voorzitterschap"), default="", choices=[("", _l("— nog niet gekozen —"))])
    partners = FieldList(FormField(PartnerRow), min_entries=3)
    tables = FieldList(FormField(TableRow))


# ----------------------------------------------------------------------------- annexes


class DeclarationForm(FlaskForm):
    """Bijlage 1 (structural participant): who signs, for which table (*gebiedsnetwerk*)."""

    Meta = DutchMeta
    name = StringField(_l("Naam"), [DataRequired(_l("Vul de naam in.")), Length(max=limits.NAME_MAX, message=_l("Maximaal 200 tekens."))])
    initials = StringField(_l("Voorletters"), [DataRequired(_l("Vul de voorletters in.")), Length(max=limits.INITIALS_MAX, message=_l("Maximaal 40 tekens."))])
    organisation = StringField(_l("Organisatie"), [DataRequired(_l("Vul de organisatie in.")), Length(max=200, message=_l("Maximaal 200 tekens."))])
    function = StringField(_l("Functie"), [DataRequired(_l("Vul de functie in.")), Length(max=limits.FUNCTION_MAX, message=_l("Maximaal 200 tekens."))])
    email = EmailField(_l("E-mailadres (voor ondertekenen)"), [Optional(), Email(_l("Vul een geldig e-mailadres in."))])
    table_id = SelectField(_l("Casustafel (gebiedsnetwerk)"), [DataRequired(_l("Kies een casustafel."))], coerce=optional_id)
    signed_on = DateInput(_l("Getekend op (leeg laten als nog getekend moet worden)"))


class IncidentalDeclarationForm(DeclarationForm):
    """Bijlage 2 (incidental participant): the same, for one case."""

    case_ref = StringField(_l("Casusreferentie"), [DataRequired(_l("Een Bijlage 2 geldt voor één casus: vul de casusreferentie in.")),
                                               Length(max=100, message=_l("Maximaal 100 tekens."))])


class ConsentForm(FlaskForm):
    """Bijlage 4: the resident's consent to share named data with named organisations."""

    Meta = DutchMeta
    resident_name = StringField(_l("Naam inwoner"), [DataRequired(_l("Vul de naam van de inwoner in.")), Length(max=200, message=_l("Maximaal 200 tekens."))])
    resident_birth_date = DateInput(_l("Geboortedatum"))
    signed_by = RadioField(_l("Wie tekent?"), choices=SIGNERS, validators=[DataRequired(_l("Kies wie het formulier tekent."))])
    purpose = TextAreaField(_l("Wat is er nodig?"), [DataRequired(_l("Beschrijf wat er nodig is.")), Length(max=2000, message=_l("Maximaal 2000 tekens."))])
    categories = CheckboxesField(_l("Welke gegevens mogen worden gedeeld?"), [DataRequired(_l("Kies ten minste één soort gegevens."))])
    recipients = CheckboxesField(_l("Aan welke organisaties?"), coerce=int)
    fixed_recipients = CheckboxesField(_l("Vaste regels van het formulier"))
    other_recipients = StringField(_l("Anders, namelijk"), [Length(max=200, message=_l("Maximaal 200 tekens."))])
    case_ref = StringField(_l("Casusreferentie"), [DataRequired(_l("Vul de casusreferentie in.")), Length(max=100, message=_l("Maximaal 100 tekens."))])
    table_id = SelectField(_l("Casustafel (gebiedsnetwerk)"), [DataRequired(_l("Kies een casustafel."))], coerce=optional_id)
    contact_person = StringField(_l("Contactpersoon (professional)"), [Length(max=200, message=_l("Maximaal 200 tekens."))])
    signed_on = DateInput(_l("Getekend op (leeg laten als nog getekend moet worden)"))

    def validate_recipients(self, field) -> None:
        """At least one organisation, ticked or typed under 'Anders, namelijk'."""
        if not field.data and not self.fixed_recipients.data and not (self.other_recipients.data or "").strip():
            raise ValidationError("Kies ten minste één organisatie of vul 'Anders, namelijk' in.")
