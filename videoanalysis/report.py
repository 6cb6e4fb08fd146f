"""The HTML report: one self-contained page a person checks the counts against by eye.

A count is only as good as what it counted, so the page shows every object the summary counted, with the crop of
its most confident frame, and apart from them the fragments it did not count. The page is a pure function of the
summary and the images: no script, no network (chart and thumbnails are inlined as `data:` URIs, its own
Content-Security-Policy forbids anything else), and every string from outside (video name, class names, error
messages, settings) is HTML-escaped, so a video named `<script>...` shows as text.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)
"""What the page may load: inline styles and inlined images, nothing else. The HTTP API sends it as a header too
(with `frame-ancestors`, which a `<meta>` policy cannot set)."""


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; word-break: break-all; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .2em .7em; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f5f5f5; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.status { display: inline-block; padding: .1em .6em; border-radius: .3em; color: #fff; background: #2a7d2a; }
.status.partial { background: #b26b00; } .status.failed, tr.failed td:nth-child(2) { background: #b00020; color: #fff; }
tr.failed { background: #fde8ec; } .problem { color: #b00020; }
.gallery { display: flex; flex-wrap: wrap; gap: .6em; }
figure { margin: 0; padding: .3em; border: 1px solid #ddd; border-radius: .3em; width: 170px; text-align: center; }
figure img { max-width: 160px; max-height: 160px; display: block; margin: 0 auto; }
figure .none { height: 60px; line-height: 60px; color: #999; background: #f5f5f5; }
figcaption { font-size: 12px; } .fragments figure { opacity: .8; } .chart { max-width: 100%; }
.frame { position: relative; max-width: 960px; } .frame img { display: block; width: 100%; }
.frame img + svg { position: absolute; left: 0; top: 0; width: 100%; height: 100%; } .frame svg { display: block; }
.regions line, .regions polygon { stroke-width: 3px; vector-effect: non-scaling-stroke; }
.regions text { fill: #fff; stroke: #000; stroke-width: 3px; paint-order: stroke; vector-effect: non-scaling-stroke;
  font-weight: bold; }
"""

PALETTE = ("#ffd400", "#00e5ff", "#ff4fd8", "#7dff4f", "#ff8c1a", "#b388ff")
"""Colours of the regions drawn over the frame, in turn: bright, to stand out on a street."""


def render_report(
    summary: Mapping[str, Any],
    chart_png: bytes | None = None,
    thumbnails: Mapping[str, bytes] | None = None,
    frame_jpeg: bytes | None = None,
) -> str:
    """The report of `summary`; `thumbnails` maps each object's `thumbnail` name to its JPEG bytes (an object whose
    image is missing shows "no image"), `chart_png` is the timeline chart (`chart.render_timeline_png`), and
    `frame_jpeg` a frame of the video to draw the lines and zones over (without it they are drawn on grey)."""
    images = thumbnails or {}
    video = summary.get("video") or {}
    title = f"{video.get('name', 'video')}: object counts"
    objects = summary.get("objects") or []
    body = [
        f"<h1>{escape(title)}</h1>",
        _status_section(summary),
        _video_section(video, summary.get("totals") or {}),
        _classes_section(summary.get("classes") or {}),
        _chart_section(chart_png),
        _regions_section(summary, frame_jpeg),
        _gallery_section("Counted objects", [o for o in objects if o.get("counted")], images, "counted"),
        _gallery_section("Fragments not counted", [o for o in objects if not o.get("counted")], images, "fragments"),
        _chunks_section(summary.get("chunks") or []),
        _settings_section(summary.get("settings") or {}),
    ]
    return html_page(title, body)


def html_page(title: str, body: Iterable[str]) -> str:
    """A whole page of already-escaped body parts (empty ones left out), under the report's policy and style."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
            *filter(None, body),
            "</body></html>",
            "",
        ]
    )


def escape(value: Any) -> str:
    """Any value as HTML text: the one way a string from outside enters the page."""
    return html.escape(str(value), quote=True)


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _seconds(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{float(value):.{digits}f} s"


def _number(value: Any) -> str:
    return (
        f"{value:,}"
        if isinstance(value, int) and not isinstance(value, bool)
        else "-"
        if value is None
        else escape(value)
    )


def html_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], right: Collection[int] = (), row_classes: Sequence[str] = ()
) -> str:
    """A table of already-escaped cells; the columns in `right` (numbers) are right-aligned."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    lines = []
    for i, row in enumerate(rows):
        css = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        cells = "".join(
            f'<td class="n">{cell}</td>' if j in right else f"<td>{cell}</td>" for j, cell in enumerate(row)
        )
        lines.append(f"<tr{css}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _status_section(summary: Mapping[str, Any]) -> str:
    status = str(summary.get("status", "unknown"))
    css = status if status in ("partial", "failed") else "ok"
    parts = [f'<p>Status: <span class="status {css}">{escape(status)}</span></p>']
    if summary.get("error"):
        parts.append(f'<p class="problem">Error: {escape(summary["error"])}</p>')
    parts.extend(f'<p class="problem">Warning: {escape(warning)}</p>' for warning in summary.get("warnings") or [])
    return "\n".join(parts)


def _video_section(video: Mapping[str, Any], totals: Mapping[str, Any]) -> str:
    size = video.get("size_bytes")
    frames = _number(video.get("frame_count"))
    if video.get("claimed_frame_count"):
        frames += f" (container claims {_number(video['claimed_frame_count'])})"
    width, height = video.get("width"), video.get("height")
    compute = (totals.get("chunk_time_s") or {}).get("total_s")
    rows = [
        ("Video", escape(video.get("name", "-"))),
        ("Duration", _seconds(video.get("duration_s"))),
        ("Frame rate", "-" if video.get("fps") is None else f"{float(video['fps']):.2f} fps"),
        ("Frames", frames),
        ("Resolution", "-" if width is None else f"{escape(width)} x {escape(height)}"),
        ("Codec", escape(video.get("codec", "-"))),
        ("File size", "-" if size is None else f"{size / 2**20:.1f} MiB"),
        ("Frames analysed", _number(totals.get("frames_analyzed"))),
        ("Chunks", f"{_number(totals.get('chunks'))} ({_number(totals.get('chunks_failed'))} failed)"),
        ("Elapsed", _seconds(totals.get("wall_s"))),
        ("Compute (all chunks)", _seconds(compute)),
    ]
    cells = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f"<h2>Video</h2><table>{cells}</table>"


def _classes_section(classes: Mapping[str, Any]) -> str:
    if not classes:
        return "<h2>Counts</h2><p>No objects detected.</p>"
    header = (
        "Class",
        "Unique (counted)",
        "Peak in one frame",
        "Detections",
        "Frames present",
        "First seen",
        "Last seen",
    )
    rows = [
        (
            escape(name),
            _number(stats.get("unique")),
            _number(stats.get("peak")),
            _number(stats.get("detections")),
            _number(stats.get("frames_present")),
            _seconds(stats.get("first_seen_s")),
            _seconds(stats.get("last_seen_s")),
        )
        for name, stats in classes.items()
    ]
    return f"<h2>Counts</h2>{html_table(header, rows, right=range(1, 5))}"


def _chart_section(chart_png: bytes | None) -> str:
    if not chart_png:
        return ""
    uri = _data_uri("image/png", chart_png)
    return f'<h2>Timeline</h2><img class="chart" src="{uri}" alt="objects per second, by class">'


def _regions_section(summary: Mapping[str, Any], frame_jpeg: bytes | None) -> str:
    """The lines and zones drawn over a frame of the video, so a user sees where they are, and their counts."""
    lines, zones = summary.get("lines") or {}, summary.get("zones") or {}
    if not lines and not zones:
        return ""
    return "".join(
        [
            '<section class="regions"><h2>Lines and zones</h2>',
            _regions_picture(summary.get("video") or {}, lines, zones, frame_jpeg),
            _lines_table(lines) if lines else "",
            _zones_table(zones) if zones else "",
            '<p>"In" is a crossing along the line\'s arrow, "out" one against it. Crossings and entries count the '
            "counted objects (as Unique does); a zone's peak counts every tracked box.</p></section>",
        ]
    )


def _lines_table(lines: Mapping[str, Any]) -> str:
    rows = [
        (escape(name), escape(cls), _number(n.get("in")), _number(n.get("out")), _number(n["in"] + n["out"]))
        for name, line in lines.items()
        for cls, n in (line.get("classes") or {}).items()
    ]
    return html_table(("Line", "Class", "In", "Out", "Both"), rows, right=(2, 3, 4))


def _zones_table(zones: Mapping[str, Any]) -> str:
    rows = [
        (escape(name), escape(cls), _number(n.get("entered")), _number(n.get("peak")))
        for name, zone in zones.items()
        for cls, n in (zone.get("classes") or {}).items()
    ]
    return html_table(("Zone", "Class", "Entered", "Peak inside at once"), rows, right=(2, 3))


def _regions_picture(
    video: Mapping[str, Any], lines: Mapping[str, Any], zones: Mapping[str, Any], frame_jpeg: bytes | None
) -> str:
    """Inline SVG in the frame's pixel coordinates over the inlined frame (or grey without one): each zone a
    translucent polygon, each line with an arrow to its "in" side, every name written beside its shape."""
    width, height = video.get("width"), video.get("height")
    if not width or not height:
        return ""
    w, h = float(width), float(height)
    size = max(w, h) / 40  # labels and arrows in proportion to the frame

    def label(name: str, x: float, y: float) -> str:
        """The name centred at (x, y), moved in so that it stays inside the frame (the picture clips it)."""
        half = min(w / 2, 0.3 * size * len(name))
        x, y = min(max(x, half), w - half), min(max(y, size), h - size / 3)
        return f'<text x="{x:.1f}" y="{y + size / 3:.1f}" text-anchor="middle">{escape(name)}</text>'

    shapes = []
    for i, (name, zone) in enumerate(zones.items()):
        points = [(float(x), float(y)) for x, y in zone.get("points") or []]
        colour = PALETTE[(len(lines) + i) % len(PALETTE)]
        corners = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        shapes.append(f'<polygon points="{corners}" fill="{colour}" fill-opacity="0.25" stroke="{colour}"/>')
        cx, cy = sum(x for x, _ in points) / len(points), sum(y for _, y in points) / len(points)
        shapes.append(label(name, cx, cy))
    for i, (name, line) in enumerate(lines.items()):
        (ax, ay), (bx, by) = ((float(x), float(y)) for x, y in line.get("points") or [])
        nx, ny = _in_normal((ax, ay), (bx, by))
        shapes.append(_line_shape((ax, ay), (bx, by), PALETTE[i % len(PALETTE)], size))
        near_a = (ax + 0.15 * (bx - ax), ay + 0.15 * (by - ay))  # named near its start: lines often cross mid-way
        shapes.append(label(name, near_a[0] - 1.5 * size * nx, near_a[1] - 1.5 * size * ny))
    if frame_jpeg:
        picture = f'<img src="{_data_uri("image/jpeg", frame_jpeg)}" alt="a frame of the video">'
        background = ""
    else:
        picture, background = "", f'<rect width="{w:.0f}" height="{h:.0f}" fill="#777"/>'
    svg = f'<svg viewBox="0 0 {w:.0f} {h:.0f}" font-size="{size:.1f}">{background}{"".join(shapes)}</svg>'
    return f'<div class="frame">{picture}{svg}</div>'


def _in_normal(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """The unit vector towards the side "in" crosses to: the right of A->B on the screen, (-dy, dx) in image
    coordinates (y down), as `videoanalysis.regions` defines it."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    return -(b[1] - a[1]) / length, (b[0] - a[0]) / length


def _line_shape(a: tuple[float, float], b: tuple[float, float], colour: str, size: float) -> str:
    """The segment, and an arrow from its middle towards its "in" side."""
    (ax, ay), (bx, by) = a, b
    nx, ny = _in_normal(a, b)
    mx, my = (ax + bx) / 2, (ay + by) / 2
    tip_x, tip_y = mx + 2.5 * size * nx, my + 2.5 * size * ny
    base_x, base_y = mx + 1.6 * size * nx, my + 1.6 * size * ny
    head = [(tip_x, tip_y), (base_x + 0.6 * size * ny, base_y - 0.6 * size * nx)]
    head.append((base_x - 0.6 * size * ny, base_y + 0.6 * size * nx))
    return (
        f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{colour}"/>'
        f'<line x1="{mx:.1f}" y1="{my:.1f}" x2="{base_x:.1f}" y2="{base_y:.1f}" stroke="{colour}"/>'
        f'<polygon points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in head)}" fill="{colour}" stroke="{colour}"/>'
    )


def _gallery_section(title: str, objects: Sequence[Mapping[str, Any]], images: Mapping[str, bytes], css: str) -> str:
    """The objects by class, each with its thumbnail and when it was seen; fragments are apart from the counted."""
    if not objects:
        return f"<h2>{escape(title)}</h2><p>None.</p>" if css == "counted" else ""
    by_class: dict[str, list[Mapping[str, Any]]] = {}
    for obj in objects:
        by_class.setdefault(str(obj.get("cls", "?")), []).append(obj)
    parts = [f'<section class="{css}"><h2>{escape(title)} ({len(objects)})</h2>']
    for cls, members in sorted(by_class.items()):
        kind = cls if css == "counted" else f"{cls} fragment"
        figures = "".join(_figure(f"{kind} {n}", obj, images) for n, obj in enumerate(members, start=1))
        parts.append(f'<h3>{escape(cls)} ({len(members)})</h3><div class="gallery">{figures}</div>')
    parts.append("</section>")
    return "".join(parts)


def _figure(label: str, obj: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    name = obj.get("thumbnail")
    data = images.get(name) if isinstance(name, str) else None
    if data:
        picture = f'<img src="{_data_uri("image/jpeg", data)}" alt="{escape(label)}">'
    else:
        picture = '<div class="none">no image</div>'
    chunks = ", ".join(str(int(index)) for index in obj.get("chunks") or [])
    seen = f"{_seconds(obj.get('first_s'))} to {_seconds(obj.get('last_s'))}"
    frames = "1 frame" if obj.get("hits") == 1 else f"{_number(obj.get('hits'))} frames"
    details = f"{frames}, chunk{'s' if ',' in chunks else ''} {chunks or '-'}"
    crossed = "".join(
        f"<br>{escape(c.get('line'))} {escape(c.get('direction'))} at {_seconds(c.get('t_s'))}"
        for c in obj.get("crossings") or []
    )
    caption = f"<b>{escape(label)}</b><br>{seen}<br>{details}{crossed}"
    return f"<figure>{picture}<figcaption>{caption}</figcaption></figure>"


def _chunks_section(chunks: Sequence[Mapping[str, Any]]) -> str:
    if not chunks:
        return ""
    header = ("Chunk", "Status", "Core", "Frames decoded", "Frames analysed", "Decode", "Detect", "Track", "Total")
    rows, classes = [], []
    for row in chunks:
        failed = row.get("status") != "ok"
        timing = row.get("timing") or {}
        end = "end" if row.get("end_s") is None else _seconds(row["end_s"])
        rows.append(
            (
                _number(row.get("index")),
                "FAILED" if failed else "ok",
                "unknown" if row.get("start_s") is None else f"{_seconds(row['start_s'])} to {end}",
                _number(row.get("frames_decoded")),
                _number(row.get("frames_analyzed")),
                *(_seconds(timing.get(key), 2) for key in ("decode_s", "infer_s", "track_s", "total_s")),
                escape(row.get("error") or ""),
            )
        )
        classes.append("failed" if failed else "")
    table = html_table((*header, "Error"), rows, right=(0, 3, 4, 5, 6, 7, 8), row_classes=classes)
    return f"<h2>Chunks</h2>{table}"


def _settings_section(settings: Mapping[str, Any]) -> str:
    if not settings:
        return ""
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in sorted(settings.items()))
    return f"<details><summary>Settings of this run</summary><table>{cells}</table></details>"
