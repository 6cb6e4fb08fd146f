"""The HTML report as a pure function of a summary and its images: what it shows, and that nothing from outside can
become markup, script or a network request."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from typing import Any

import cv2
import numpy as np
import pytest

from videoanalysis.report import CONTENT_SECURITY_POLICY, render_report

CHART = b"\x89PNG\r\n\x1a\nchart"


def jpeg(value: int) -> bytes:
    return cv2.imencode(".jpg", np.full((30, 20, 3), value, np.uint8))[1].tobytes()


def obj(cls: str, first_s: float, counted: bool = True, thumbnail: str | None = None, **extra: Any) -> dict:
    return {"cls": cls, "first_s": first_s, "last_s": first_s + 2.5, "chunks": [0], "hits": 12, "counted": counted,
            "thumbnail": thumbnail, **extra}  # fmt: skip


def summary(**changes: Any) -> dict:
    base = {
        "schema_version": 1,
        "status": "succeeded",
        "error": None,
        "warnings": [],
        "video": {"name": "street.mp4", "fps": 25.0, "frame_count": 250, "duration_s": 10.0, "width": 640,
                  "height": 360, "codec": "h264", "size_bytes": 3 * 2**20, "claimed_frame_count": None},
        "settings": {"sample_fps": 5.0, "min_track_seconds": 1.5},
        "classes": {
            "car": {"unique": 2, "peak": 2, "detections": 40, "frames_present": 30, "first_seen_s": 0.4,
                    "last_seen_s": 9.2, "timeline": [1] * 10},
            "person": {"unique": 1, "peak": 1, "detections": 9, "frames_present": 9, "first_seen_s": 3.0,
                       "last_seen_s": 5.0, "timeline": [0] * 10},
        },
        "objects": [
            obj("car", 0.4, thumbnail="s.chunks/chunk-00000.track-1.jpg"),
            obj("person", 3.0, thumbnail="s.chunks/chunk-00000.track-2.jpg"),
            obj("car", 4.0, thumbnail="s.chunks/chunk-00001.track-1.jpg"),
            obj("car", 6.0, counted=False, thumbnail="s.chunks/chunk-00001.track-7.jpg"),
        ],
        "chunks": [
            {"index": 0, "status": "ok", "start_s": 0.0, "end_s": 5.0, "frames_decoded": 130, "frames_analyzed": 25,
             "error": None, "timing": {"decode_s": 0.5, "infer_s": 1.25, "track_s": 0.2, "total_s": 2.0}},
            {"index": 1, "status": "ok", "start_s": 5.0, "end_s": None, "frames_decoded": 130, "frames_analyzed": 25,
             "error": None, "timing": {"decode_s": 0.5, "infer_s": 1.25, "track_s": 0.2, "total_s": 2.0}},
        ],
        "failed_chunks": [],
        "totals": {"chunks": 2, "chunks_failed": 0, "frames_decoded": 260, "frames_analyzed": 50, "detections": 49,
                   "unique_objects": 3, "chunk_time_s": {"total_s": 4.0}, "wall_s": 5.5},
    }  # fmt: skip
    return {**base, **changes}


IMAGES = {f"s.chunks/chunk-0000{c}.track-{t}.jpg": jpeg(30 * c + 20 * t) for c, t in [(0, 1), (0, 2), (1, 1), (1, 7)]}


class Page(HTMLParser):
    """The page as a browser's parser sees it: tags, their attributes, and the text."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def images(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.tags if tag == "img"]

    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def _section(document: str, heading: str) -> str:
    """The markup from a heading to the next h2."""
    start = document.index(heading)
    end = document.find("<h2>", start + 1)
    return document[start : end if end > 0 else None]


def test_the_report_shows_facts_counts_chart_gallery_and_chunks() -> None:
    document = render_report(summary(), CHART, IMAGES)
    text = Page(document).all_text()
    for fact in ("street.mp4", "10.0 s", "25.00 fps", "640 x 360", "h264", "3.0 MiB", "2 (0 failed)"):
        assert fact in text, fact
    assert "car 2 2 40 30 0.4 s 9.2 s" in text and "person 1 1 9 9 3.0 s 5.0 s" in text
    sources = [image["src"] or "" for image in Page(document).images()]
    assert f"data:image/png;base64,{base64.b64encode(CHART).decode()}" in sources
    for data in IMAGES.values():
        assert f"data:image/jpeg;base64,{base64.b64encode(data).decode()}" in sources
    assert "0.0 s to 5.0 s" in text and "5.0 s to end" in text and "1.25 s" in text


def test_counted_objects_by_class_and_fragments_apart() -> None:
    document = render_report(summary(), CHART, IMAGES)
    counted = Page(_section(document, "Counted objects (3)")).all_text()
    assert "car (2)" in counted and "person (1)" in counted
    assert "car 1 0.4 s to 2.9 s" in counted and "car 2 4.0 s to 6.5 s" in counted
    fragments = Page(_section(document, "Fragments not counted (1)"))
    assert "car fragment 1 6.0 s to 8.5 s" in fragments.all_text()
    assert [image["alt"] for image in fragments.images()] == ["car fragment 1"]
    assert base64.b64encode(IMAGES["s.chunks/chunk-00001.track-7.jpg"]).decode() in _section(document, "Fragments")
    assert base64.b64encode(IMAGES["s.chunks/chunk-00001.track-7.jpg"]).decode() not in counted


def test_an_object_without_its_image_shows_that_it_has_none() -> None:
    objects = [obj("car", 1.0, thumbnail=None), obj("car", 2.0, thumbnail="gone.jpg")]
    page = Page(render_report(summary(objects=objects), None, {}))
    assert page.all_text().count("no image") == 2 and page.images() == []
    assert "No objects detected" in Page(render_report(summary(classes={}, objects=[]))).all_text()


def test_failed_chunks_are_marked_and_the_error_shown() -> None:
    chunks = [
        summary()["chunks"][0],
        {"index": 1, "status": "failed", "start_s": 5.0, "end_s": None, "frames_decoded": 0, "frames_analyzed": 0,
         "error": "moov atom not found", "timing": {}},
        {"index": 2, "status": "failed", "start_s": None, "end_s": None, "frames_decoded": 0, "frames_analyzed": 0,
         "error": "worker died", "timing": {}},
    ]  # fmt: skip
    document = render_report(summary(status="partial", error="2 of 3 chunks failed", chunks=chunks))
    rows = re.findall(r"<tr( class=\"failed\")?><td class=\"n\">(\d)</td><td>(\w+)</td>", document)
    assert rows == [("", "0", "ok"), (' class="failed"', "1", "FAILED"), (' class="failed"', "2", "FAILED")]
    text = Page(document).all_text()
    assert "moov atom not found" in text and "unknown" in text and "Error: 2 of 3 chunks failed" in text
    assert 'class="status partial"' in document


HOSTILE = [
    "<b>x</b>.mp4",
    "<script>alert(1)</script>.mp4",
    '"><img src=x onerror=alert(1)>.mp4',
    "</title><script src=https://evil.example/x.js></script>",
    "a & b ' c.mp4",
    "cam$^^$.mp4",  # matplotlib reads $...$ as math; a page must not read anything as markup
    "${$",
    "$a_$",
]


REGIONS = {
    "lines": {"door": {"points": [[320, 360], [320, 0]], "classes": {"car": {"in": 3, "out": 1}},
                       "crossings": [{"t_s": 1.2, "cls": "car", "direction": "in"}]}},
    "zones": {"yard": {"points": [[0, 0], [200, 0], [200, 360], [0, 360]],
                       "classes": {"car": {"entered": 2, "peak": 1}, "person": {"entered": 0, "peak": 1}}}},
}  # fmt: skip


def test_the_lines_and_zones_are_counted_and_drawn_over_a_frame_of_the_video() -> None:
    frame = jpeg(77)
    document = render_report(summary(**REGIONS), CHART, IMAGES, frame)
    section = _section(document, "<h2>Lines and zones</h2>")
    text = Page(section).all_text()
    assert "door car 3 1 4" in text and "yard car 2 1" in text and "yard person 0 1" in text
    page = Page(section)
    assert [image["src"] for image in page.images()] == [f"data:image/jpeg;base64,{base64.b64encode(frame).decode()}"]
    (svg,) = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert svg["viewbox"] == "0 0 640 360", "drawn in the frame's pixels, whatever size the image is shown at"
    segment, _, arrow = [attrs for tag, attrs in page.tags if tag in ("line", "polygon")][1:4]
    assert (segment["x1"], segment["y1"], segment["x2"], segment["y2"]) == ("320.0", "360.0", "320.0", "0.0")
    tip_x = float((arrow["points"] or "").split()[0].split(",")[0])
    assert tip_x > 320, "a line drawn upwards counts moving right as in: its arrow points right"
    assert Page(section[: section.index("</svg>")]).text == ["Lines and zones", "yard", "door"], "each shape named"


def test_an_object_lists_the_lines_it_crossed() -> None:
    crossed = [{"line": "door", "t_s": 1.2, "direction": "in"}, {"line": "door", "t_s": 4.0, "direction": "out"}]
    objects = [obj("car", 0.4, crossings=crossed, zones=["yard"]), obj("car", 5.0, crossings=[])]
    text = Page(_section(render_report(summary(objects=objects, **REGIONS)), "Counted objects")).all_text()
    assert "car 1 0.4 s to 2.9 s 12 frames, chunk 0 door in at 1.2 s door out at 4.0 s no image car 2" in text
    assert text.endswith("car 2 5.0 s to 7.5 s 12 frames, chunk 0"), "none listed where it crossed none"


def test_without_a_frame_the_regions_are_drawn_on_grey_and_without_regions_not_at_all() -> None:
    section = _section(render_report(summary(**REGIONS)), "<h2>Lines and zones</h2>")
    assert "<img" not in section and '<rect width="640" height="360" fill="#777"/>' in section
    assert "Lines and zones" not in render_report(summary(), CHART, IMAGES, jpeg(77))
    assert "Lines and zones" not in render_report(summary(lines={}, zones={}))


@pytest.mark.parametrize("name", HOSTILE)
def test_every_string_from_outside_shows_as_text(name: str) -> None:
    """Video name, class names, line and zone names, error and warning messages, settings: a browser reads each as
    text, never markup."""
    regions = REGIONS
    hostile = summary(
        video={**summary()["video"], "name": name, "codec": name},
        classes={name: summary()["classes"]["car"]},
        objects=[
            obj(name, 1.0, thumbnail=name, crossings=[{"line": name, "t_s": 1.0, "direction": "in"}]),
            obj(name, 2.0, counted=False),
        ],
        error=name,
        warnings=[name],
        settings={name: name},
        chunks=[{**summary()["chunks"][0], "status": "failed", "error": name}],
        lines={name: {**regions["lines"]["door"], "classes": {name: {"in": 1, "out": 0}}}},
        zones={name: {**regions["zones"]["yard"], "classes": {name: {"entered": 1, "peak": 1}}}},
    )
    document = render_report(hostile, CHART, {name: jpeg(10)}, jpeg(50))
    page = Page(document)
    assert {tag for tag, _ in page.tags} <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3",
        "p", "span", "table", "thead", "tbody", "tr", "th", "td", "img", "section", "div", "figure", "figcaption",
        "b", "br", "details", "summary", "svg", "line", "polygon", "text"}  # fmt: skip
    assert all(set(attrs) <= {"src", "alt", "class"} for tag, attrs in page.tags if tag == "img")
    assert page.all_text().count(name.strip()) >= 13, "shown as text: title, heading, facts, class, figures, regions"
    assert "<script" not in document and "<b>x" not in document


def test_the_page_needs_no_script_and_no_network() -> None:
    document = render_report(summary(), CHART, IMAGES)
    page = Page(document)
    policies = [attrs["content"] for tag, attrs in page.tags if attrs.get("http-equiv") == "Content-Security-Policy"]
    assert policies == [CONTENT_SECURITY_POLICY] and "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script" not in {tag for tag, _ in page.tags}
    assert not re.search(r"(src|href)=\"(?!data:)", document), "every source is inlined"
    assert not re.search(r"\bon[a-z]+=", document), "no event handler attributes"
    assert "url(" not in document and "@import" not in document


def test_a_failed_summary_still_makes_a_page() -> None:
    failed = {"schema_version": 1, "status": "failed", "error": "moov atom not found", "warnings": [],
              "video": {"name": "bad.mp4"}, "settings": {}, "classes": {}, "objects": [], "chunks": [],
              "failed_chunks": [], "totals": {"chunks": 0, "chunks_failed": 0}}  # fmt: skip
    text = Page(render_report(failed)).all_text()
    assert "bad.mp4" in text and "Error: moov atom not found" in text and "failed" in text
