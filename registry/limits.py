"""Field lengths: written once, read by the API schemas and the WTForms forms.

Plain constants (no Flask): the services' validation stays the authority for rules;
these are the shapes every door agrees on (a name fits in 200 characters, a case
reference in 100).
"""

from __future__ import annotations

NAME_MAX = 200
"""Names of people, organisations, tables, areas and places."""
INITIALS_MAX = 40
FUNCTION_MAX = 200
EMAIL_MAX = 254
"""RFC 5321's limit of a forward path."""
TITLE_MAX = 300
PACK_MAX = 100
CASE_REF_MAX = 100
MANDATE_MAX = 300
DECISION_MAX = 2000
"""Free texts that explain a decision: termination, exclusion, a consent's purpose."""
PURPOSE_MAX = 2000
CHAIR_MODEL_MAX = 20
THEME_MAX = 20
AGE_BAND_MAX = 8
STARTS_AT_MAX = 40
