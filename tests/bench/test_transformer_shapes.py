"""The shape matrix of ``bench/transformer_throughput.py``: every cell is what its label says, and valid.

Not the measurement (a benchmark's figures are never asserted in a test): that each generated cell really
has the shape it is named for, so the matrix measures what it claims, and that every record passes the
contract, so a cell's time is the valid path's.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bench.transformer_data import SHAPES, Shape, shaped_file, shaped_records
from functions.contract import normalise_many
from functions.errors import InvalidRecord


def test_the_matrix_has_every_combination_once() -> None:
    cells = {(shape.balance, shape.keys, shape.text, shape.zone, shape.file) for shape in SHAPES}
    assert len(cells) == len(SHAPES) == 3 * 2 * 2 * 3 * 2
    assert Shape("string", "snake", "clean", "absent", "lines") in SHAPES  # the README tour's records


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "-".join(shape.label.split()))
def test_each_cell_has_its_shape_and_passes_the_contract(shape: Shape) -> None:
    data = shaped_file(200, shape)
    if shape.file == "lines":
        lines = data.decode().splitlines()
        assert len(lines) == 200
        records = [json.loads(line, parse_float=Decimal) for line in lines]
    else:
        records = json.loads(data, parse_float=Decimal)
    assert records == [json.loads(json.dumps(r), parse_float=Decimal) for r in shaped_records(200, shape)]
    balance_type = {"float": Decimal, "string": str, "integer": int}[shape.balance]
    assert {type(record["balance"]) for record in records} == {balance_type}
    id_key, time_key = ("accountId", "updatedAt") if shape.keys == "camel" else ("account_id", "updated_at")
    assert all(id_key in record for record in records)
    if shape.zone == "absent":
        assert not any(time_key in record or "status" in record for record in records)
    else:
        assert all(time_key in record and "status" in record for record in records)
        assert all(record[time_key].endswith("Z") == (shape.zone == "Z") for record in records)
    padded = [record["name"] != record["name"].strip() or "  " in record["name"] for record in records]
    assert all(padded) if shape.text == "padded" else not any(padded)
    results = normalise_many(records, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert not [result for result in results if isinstance(result, InvalidRecord)]
