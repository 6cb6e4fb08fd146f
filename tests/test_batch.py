"""The batch table: columns, RFC 4180 CSV, JSON round trip and the index page's escaping."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest

from videoanalysis.batch import BatchRow, BatchTable, one_line


def summary(status: str = "succeeded", **classes: int) -> dict:
    return {
        "status": status,
        "error": None if status == "succeeded" else "chunk 2 failed: boom\nTraceback (most recent call last):",
        "video": {"name": "v.mp4", "duration_s": 12.5},
        "classes": {name: {"unique": count, "peak": 1} for name, count in classes.items()},
        "lines": {"gate": {"classes": {"car": {"in": 2, "out": 1}, "person": {"in": 1, "out": 0}}}},
        "zones": {"lot": {"classes": {"car": {"entered": 3, "peak": 2}}}},
    }


def test_columns_are_fixed_then_classes_then_lines_then_zones() -> None:
    table = BatchTable(
        (
            BatchRow.from_summary("a.mp4", summary(car=2, person=1)),
            BatchRow.from_summary("b.mp4", summary("partial", bike=4)),
            BatchRow.failed("c.mp4", "not a video: moov atom not found"),
        )
    )
    assert table.columns() == [
        *("video", "status", "duration_s", "error"),
        *("bike", "car", "person"),
        *("line:gate:in", "line:gate:out", "zone:lot:entered"),
    ]
    rows = list(csv.reader(io.StringIO(table.to_csv())))
    assert rows[1] == ["a.mp4", "succeeded", "12.5", "", "0", "2", "1", "3", "1", "3"]
    assert rows[2][:4] == ["b.mp4", "partial", "12.5", "chunk 2 failed: boom"]  # the first line only
    assert rows[3] == ["c.mp4", "failed", "", "not a video: moov atom not found", "0", "0", "0", "0", "0", "0"]
    assert table.totals() == {"bike": 4, "car": 2, "person": 1}
    assert table.status_counts() == {"succeeded": 1, "partial": 1, "failed": 1}


def test_the_csv_quotes_as_rfc_4180_does() -> None:
    name = 'site a/cam "north", 1.mp4'
    text = BatchTable((BatchRow.failed(name, "bad, very bad"),)).to_csv()
    assert text.endswith("\r\n") and text.count("\r\n") == 2
    assert '"site a/cam ""north"", 1.mp4"' in text and '"bad, very bad"' in text
    assert next(csv.reader(io.StringIO(text.splitlines()[1])))[0] == name


def test_rows_round_trip_through_json() -> None:
    row = replace(BatchRow.from_summary("a.mp4", summary(car=2), "a.mp4.json", "a.mp4.html"), version="abc")
    table = BatchTable((row,))
    document = json.loads(table.to_json())
    assert [BatchRow.from_dict(row) for row in document["rows"]] == list(table.rows)
    assert document["rows"][0]["summary"] == "a.mp4.json" and document["totals"] == {"car": 2}


def test_a_row_refuses_an_unknown_status_and_keeps_one_line_of_error() -> None:
    with pytest.raises(ValueError, match="status"):
        BatchRow(video="a.mp4", status="running")
    assert one_line("\n  first\nsecond") == "first" and one_line("") is None and one_line(None) is None


def test_the_index_escapes_every_name_and_links_each_report() -> None:
    rows = (
        BatchRow.from_summary("<script>alert(1)</script>.mp4", summary(car=1), report="x/&<.html"),
        BatchRow.failed("b.mp4", "<b>bold</b> reason"),
    )
    page = BatchTable(rows).to_html("batch <1>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert 'href="x/&amp;&lt;.html"' in page and "&lt;b&gt;bold&lt;/b&gt; reason" in page
    assert "<title>batch &lt;1&gt;</title>" in page and 'http-equiv="Content-Security-Policy"' in page
