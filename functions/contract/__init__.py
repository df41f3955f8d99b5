"""The record contract: the only place where field rules live.

One table (:mod:`functions.contract.fields`) drives the per-record normaliser used by the writer, the block
normaliser used by the transformer, and the JSON Schema ``pipeline-ctl schema`` prints. The package, by
concern:

* :mod:`~functions.contract.rules`: limits and character classes, each written once;
* :mod:`~functions.contract.values`: one converter per field (the rules themselves);
* :mod:`~functions.contract.columns`: the same conversions over a whole column, or "not sure" (None);
* :mod:`~functions.contract.utc`: the common timestamp shapes rewritten to UTC from tables;
* :mod:`~functions.contract.fields`: the table;
* :mod:`~functions.contract.layouts`: the record as a msgspec struct per key spelling, for readers that
  decode records straight into columns;
* :mod:`~functions.contract.normalise`: one record, or a block column by column, and the future-skew bound;
* :mod:`~functions.contract.schema`: the JSON Schema.
"""

from __future__ import annotations

from functions.contract.fields import FIELD_NAMES, FIELDS, Field
from functions.contract.normalise import (
    FutureBound,
    Normalised,
    NormalisedBlock,
    future_bound,
    max_future_skew_hours,
    normalise,
    normalise_block,
    normalise_columns,
    normalise_many,
    normalise_many_with_stats,
    normalise_with_stats,
    unknown_keys,
)
from functions.contract.rules import (
    DEFAULT_MAX_FUTURE_SKEW_HOURS,
    DEFAULT_STATUS,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_BALANCE_DIGITS,
    MAX_EMAIL_LENGTH,
    MAX_FUTURE_SKEW_HOURS_VARIABLE,
    MAX_NAME_LENGTH,
    STATUSES,
)
from functions.contract.schema import json_schema
from functions.timestamps import format_timestamp

__all__ = [
    "DEFAULT_MAX_FUTURE_SKEW_HOURS",
    "DEFAULT_STATUS",
    "FIELDS",
    "FIELD_NAMES",
    "MAX_ACCOUNT_ID_LENGTH",
    "MAX_BALANCE_DIGITS",
    "MAX_EMAIL_LENGTH",
    "MAX_FUTURE_SKEW_HOURS_VARIABLE",
    "MAX_NAME_LENGTH",
    "STATUSES",
    "Field",
    "FutureBound",
    "Normalised",
    "NormalisedBlock",
    "format_timestamp",
    "future_bound",
    "json_schema",
    "max_future_skew_hours",
    "normalise",
    "normalise_block",
    "normalise_columns",
    "normalise_many",
    "normalise_many_with_stats",
    "normalise_with_stats",
    "unknown_keys",
]
