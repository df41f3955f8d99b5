"""The contract's limits and character classes, each written once: the per-value checks, the column checks
and the JSON Schema are all built from these."""

from __future__ import annotations

MAX_ACCOUNT_ID_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_BALANCE_DIGITS = 38
"""DynamoDB numbers carry up to 38 significant digits."""
MIN_BALANCE_ADJUSTED_EXPONENT = -130
MAX_BALANCE_ADJUSTED_EXPONENT = 125
"""DynamoDB's number range (1E-130 to 9.99…E+125): outside it PutItem fails, so the contract rejects first."""
STATUSES = ("active", "suspended", "closed")
DEFAULT_STATUS = "active"

ACCOUNT_ID_CHARS = r"A-Za-z0-9_.\-"
"""The account-id character class (inside ``[...]``): the value regex, the column regex and the schema."""
ACCOUNT_ID_CHARS_SHOWN = "A-Z a-z 0-9 _ - ."
"""The same class, for people (reasons and the schema's description)."""
CURRENCY_LENGTH = 3
CURRENCY_PATTERN = f"[A-Za-z]{{{CURRENCY_LENGTH}}}"
"""A currency as received: checked *before* upper-casing, so ``uſd`` (long s) is not read as ``USD``."""
DECIMAL_PATTERN = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
"""Plain decimal notation; ``Decimal()`` alone would also take ``NaN``, ``Infinity`` and ``1_000``."""
EMAIL_DOMAIN_PATTERN = (
    r"(?:[A-Za-z0-9]++(?:-++[A-Za-z0-9]++)*+\.)++"
    r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9\-]{1,59})"
)
"""Labels of ASCII letters and digits (hyphens only inside), then a top-level domain: letters or ``xn--``."""
EMAIL_PATTERN = rf"[^\s@]++@{EMAIL_DOMAIN_PATTERN}"
"""An address as received, checked *before* lower-casing: the domain is ASCII letters, digits and hyphens
in either case, so a Kelvin sign (U+212A, which lower-cases to ``k``) is refused rather than stored as ``k``.
Possessive quantifiers (Python 3.11+), no lookbehind: no backtracking through domain labels."""
EMAIL_SCHEMA_PATTERN = (
    r"^[^\s@]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|[Xx][Nn]--[A-Za-z0-9\-]{1,59})$"
)
""":data:`EMAIL_PATTERN` for JSON Schema validators (ECMA 262: no possessive quantifiers, no lookbehind)."""
ALLOWED_CONTROLS = "\t\n\x0b\x0c\r"
"""The only control characters (Unicode Cc) a text field may hold: ASCII whitespace, which the contract
trims or collapses and so never stores. Every other Cc character (NUL, ESC, BEL, DEL, C1 such as U+009B) and
every format character (Cf: bidi overrides and isolates, zero-width characters, U+FEFF) is refused."""
MAX_FUTURE_SKEW_HOURS_VARIABLE = "MAX_FUTURE_SKEW_HOURS"
DEFAULT_MAX_FUTURE_SKEW_HOURS = 24
"""How far past the moment a record entered the pipeline its ``updated_at`` may lie (a clock skew allowance):
a later timestamp would block every real update of the account. The stack setting ``maxFutureSkewHours``
(infra/config.py) defaults to this."""
