"""The summary: what a user reads after the fan-in, built from the chunk results.

Per-class frame statistics are merged from the chunks (each counts only the sampled frames of its own core, so the
merge equals one sequential pass); unique object counts come from the fan-in's tracking pass over the whole video
(`videoanalysis.tracking.video_pass`), its tracks joined into objects (`videoanalysis.tracking.objects`). The
summary is a record (`videoanalysis.summary_records`), written as JSON at the edge.

Lines and zones count the objects that count, as `unique` does (a fragment's crossings are listed on its row of
`objects` but not added up): an object's crossings are its segments' line traces joined in time order
(`videoanalysis.regions`), plus the crossings out of sight between one object and another that was not linked to it
(`regions.gap_crossings`). A zone's `peak` is the most tracked boxes of a class inside it in one analysed frame, any
track, as `peak` counts detections.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from functools import partial, reduce
from typing import Any

from videoanalysis.contracts import ChunkResult, Timing
from videoanalysis.regions import (
    EMPTY,
    Crossing,
    Direction,
    Line,
    LineTrace,
    Regions,
    TrackLine,
    Zone,
    gap_crossings,
    join,
)
from videoanalysis.stats import ClassStats
from videoanalysis.summary_records import (
    ChunkRow,
    ClassRow,
    LineCount,
    LineCrossing,
    LineRow,
    ObjectCrossing,
    ObjectRow,
    Summary,
    SummaryVideo,
    Totals,
    ZoneCount,
    ZoneRow,
)
from videoanalysis.tracking.objects import TrackedObject, VideoObjects, join_segments
from videoanalysis.tracking.video_pass import VideoTracks

ThumbnailName = Callable[[int, int], str]
"""How a summary names the thumbnail of (chunk, crop id): a path relative to the summary, or a blob name."""


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _timeline_length(video: Mapping[str, Any], totals: Mapping[str, ClassStats]) -> int:
    """Seconds 0..duration; never shorter than the data, since container durations can be a little short."""
    duration_s = video.get("duration_s")
    length = math.ceil(duration_s) if duration_s else 0
    last_second = max((s for t in totals.values() for s in t.timeline), default=-1)
    return max(length, last_second + 1)


def video_warnings(video: Mapping[str, Any]) -> list[str]:
    """What the video itself says is wrong. A container frame count is an estimate in some formats, so a shortfall
    under half a second (or 1%) is not reported."""
    claimed, decodable, fps = video.get("claimed_frame_count"), video.get("frame_count"), video.get("fps") or 0
    if not claimed or decodable is None or claimed - decodable <= max(fps / 2, claimed / 100):
        return []
    claimed_s = claimed / fps if fps else None
    of_claimed = f" of the {claimed_s:.1f} s ({claimed} frames) its container claims" if claimed_s else ""
    return [
        f"the video ended early: its frames stop at {video.get('duration_s', 0):.1f} s ({decodable} frames)"
        f"{of_claimed}; the file is truncated or damaged, and the rest was not analysed"
    ]


def frames_warnings(video: Mapping[str, Any], chunks: Sequence[ChunkResult]) -> list[str]:
    """What the chunks say is wrong when they all succeeded: together they read fewer frames than the probe found
    (each counts the frames of its own core, so they add up to the video's). Counts from part of the frames are not
    a success, whatever stopped the rest: damaged data the decoder gave up on, timestamps that skip back or repeat.
    Chunk results written before they counted their frames say nothing."""
    expected = video.get("frame_count")
    if not expected or not chunks or any(c.status != "ok" or c.frames_owned is None for c in chunks):
        return []
    read = sum(c.frames_owned or 0 for c in chunks)
    if read >= expected:
        return []
    return [
        f"only {read} of the {expected} frames the video holds were read ({expected - read} missing: damaged data or "
        "timestamps out of order stopped the decoder early); the counts cover the frames read"
    ]


def _status_and_error(chunks: Sequence[ChunkResult], error: str | None) -> tuple[str, str | None]:
    if not chunks:
        return "failed", error or "no chunks were analysed"
    failed = [c for c in chunks if c.status != "ok"]
    problems = [error] if error else []
    if failed:
        names = ", ".join(str(c.index) for c in failed)
        first = failed[0]
        problems.append(
            f"{len(failed)} of {len(chunks)} chunks failed (chunks {names}); "
            f"first error: chunk {first.index}: {first.error or 'unknown error'}"
        )
    if len(failed) == len(chunks):
        return "failed", "; ".join(problems)
    return ("partial" if problems else "succeeded"), "; ".join(problems) or None


def build_summary(
    video: SummaryVideo,
    settings: Mapping[str, Any],
    chunks: Sequence[ChunkResult],
    tracks: VideoTracks,
    *,
    wall_s: float | None,
    error: str | None = None,
    thumbnail: ThumbnailName | None = None,
) -> Summary:
    """Aggregate chunk results and the video's tracks into the summary, with `settings` the JSON of the analysis's.

    `error` is a run-level problem the chunks do not show, and `warnings` what the video says of itself (it ended
    early) or the chunks say of it (they read fewer frames than it holds); both are reported first and make an
    otherwise clean run "partial". Classes detected in no successful chunk are absent: the summary does not know the
    model's class list. `thumbnail` names each object's crop (none without it).
    """
    probed = video.to_dict()
    chunks = sorted(chunks, key=lambda c: c.index)
    warnings = video_warnings(probed) + frames_warnings(probed, chunks)
    status, message = _status_and_error(chunks, "; ".join(filter(None, [error, *warnings])) or None)

    totals: dict[str, ClassStats] = {}
    for chunk in chunks:
        if chunk.status == "ok":
            for name, stats in chunk.classes.items():
                totals.setdefault(name, ClassStats()).merge(stats)
    found = video_objects(probed, settings, tracks)
    unique = found.unique
    length = _timeline_length(probed, totals)
    classes = {
        name: _class_row(totals.get(name, ClassStats()), unique.get(name, 0), length)
        for name in sorted(totals.keys() | unique.keys())
    }
    regions = Regions.from_dict(settings.get("count_regions") or {})
    crossed = all_crossings(found.objects, regions.lines, link_gap_ms(settings))
    counted = [(obj, lines) for obj, lines in zip(found.objects, crossed, strict=True) if obj.counted]
    chunk_rows = tuple(_chunk_row(c) for c in chunks)
    return Summary(
        status=status,
        error=message,
        warnings=tuple(warnings),
        video=video,
        settings=dict(settings),
        classes=classes,
        lines={line.name: _line_row(line, counted, classes) for line in regions.lines},
        zones={
            zone.name: _zone_row(zone, [obj for obj, _ in counted], tracks.zone_peaks, classes)
            for zone in regions.zones
        },
        objects=tuple(
            _object_row(o, lines, _chunks_of(o, chunks), thumbnail)
            for o, lines in zip(found.objects, crossed, strict=True)
        ),
        chunks=chunk_rows,
        totals=Totals(
            chunks=len(chunk_rows),
            chunks_failed=sum(row.status != "ok" for row in chunk_rows),
            frames_decoded=sum(row.frames_decoded for row in chunk_rows),
            frames_analyzed=sum(row.frames_analyzed for row in chunk_rows),
            detections=sum(row.detections for row in classes.values()),
            unique_objects=sum(unique.values()),
            chunk_time_s=Timing(
                **{f.name: round(sum(getattr(c.timing, f.name) for c in chunks), 3) for f in fields(Timing)}
            ),
            wall_s=None if wall_s is None else round(wall_s, 3),
        ),
    )


def _class_row(stats: ClassStats, unique: int, seconds: int) -> ClassRow:
    """The class's row: its `unique` objects, its frame statistics, and its timeline over the video's `seconds`."""
    return ClassRow(
        unique=unique,
        peak=stats.peak,
        detections=stats.detections,
        frames_present=stats.frames_present,
        first_seen_s=_seconds(stats.first_seen_ms),
        last_seen_s=_seconds(stats.last_seen_ms),
        timeline=tuple(stats.timeline.get(second, 0) for second in range(seconds)),
    )


def _chunk_row(chunk: ChunkResult) -> ChunkRow:
    return ChunkRow(
        index=chunk.index,
        status=chunk.status,
        start_s=_seconds(chunk.start_ms),
        end_s=_seconds(chunk.end_ms),
        frames_decoded=chunk.frames_decoded,
        frames_analyzed=chunk.frames_analyzed,
        error=chunk.error,
        timing=chunk.timing,
    )


Crossings = Mapping[str, tuple[Crossing, ...]]
"""One object's crossings, by line name."""


def all_crossings(objects: Sequence[TrackedObject], lines: Sequence[Line], gap_ms: int) -> list[Crossings]:
    """Each object's crossings, by line: its own, and those out of sight that link it to another object
    (`regions.gap_crossings`), listed on the later object, or on the earlier when only that one counts."""
    crossed: list[dict[str, list[Crossing]]] = [{line.name: [] for line in lines} for _ in objects]
    for line in lines:
        traces = [object_trace(obj, line) for obj in objects]
        for line_trace, found in zip(traces, crossed, strict=True):
            found[line.name] += line_trace.crossings
        tracks = [TrackLine(o.cls, o.first_ms, o.last_ms, tr) for o, tr in zip(objects, traces, strict=True)]
        for earlier, later, crossing in gap_crossings(line, tracks, gap_ms):
            if objects[later].counted or objects[earlier].counted:
                crossed[later if objects[later].counted else earlier][line.name].append(crossing)
    return [
        {name: tuple(sorted(found, key=lambda c: c.t_ms)) for name, found in lines_of.items()} for lines_of in crossed
    ]


def object_trace(obj: TrackedObject, line: Line) -> LineTrace:
    """The object's trace of `line`: its segments' traces joined in time order. A crossing between two segments (two
    tracks linked across a gap) is found by the join, once, at the later one's frame."""
    traces = (segment.lines.get(line.name, EMPTY) for segment in obj.segments)
    return reduce(partial(join, line), traces, EMPTY)


def _line_row(line: Line, counted: Sequence[tuple[TrackedObject, Crossings]], classes: Mapping[str, Any]) -> LineRow:
    """`lines.<name>`: per class, counted objects that crossed "in" and "out"; every crossing's time for the chart."""
    per_class = {cls: Counter[Direction]() for cls in classes}
    times = []
    for obj, crossings in counted:
        for crossing in crossings[line.name]:
            per_class.setdefault(obj.cls, Counter())[crossing.direction] += 1
            times.append(LineCrossing(crossing.t_ms / 1000, obj.cls, crossing.direction))
    times.sort(key=lambda row: (row.t_s, row.cls, row.direction))
    return LineRow(
        points=(line.a, line.b),
        classes={cls: LineCount(n["in"], n["out"]) for cls, n in per_class.items()},
        crossings=tuple(times),
    )


def _zone_row(
    zone: Zone,
    counted: Sequence[TrackedObject],
    zone_peaks: Mapping[str, Mapping[str, int]],
    classes: Mapping[str, Any],
) -> ZoneRow:
    """`zones.<name>`: per class, counted objects inside at least once, and the most inside in one frame."""
    entered = Counter(obj.cls for obj in counted if any(zone.name in segment.zones for segment in obj.segments))
    peak = zone_peaks.get(zone.name, {})
    names = sorted(classes.keys() | entered.keys() | peak.keys())
    return ZoneRow(points=zone.points, classes={cls: ZoneCount(entered[cls], peak.get(cls, 0)) for cls in names})


def _chunks_of(obj: TrackedObject, chunks: Sequence[ChunkResult]) -> tuple[int, ...]:
    """The chunks whose cores its time span lies in."""
    return tuple(
        c.index
        for c in chunks
        if c.start_ms is not None and c.start_ms <= obj.last_ms and (c.end_ms is None or obj.first_ms < c.end_ms)
    )


def _object_row(
    obj: TrackedObject, crossings: Crossings, chunks: tuple[int, ...], thumbnail: ThumbnailName | None
) -> ObjectRow:
    crossed = [(c.t_ms, name, c.direction) for name, found in crossings.items() for c in found]
    return ObjectRow(
        cls=obj.cls,
        first_s=obj.first_ms / 1000,
        last_s=obj.last_ms / 1000,
        chunks=chunks,
        hits=obj.hits,
        counted=obj.counted,
        thumbnail=None if thumbnail is None or obj.best is None else thumbnail(*obj.best),
        crossings=tuple(ObjectCrossing(name, t_ms / 1000, d) for t_ms, name, d in sorted(crossed)),
        zones=tuple(sorted({name for segment in obj.segments for name in segment.zones})),
    )


def video_objects(video: Mapping[str, Any], settings: Mapping[str, Any], tracks: VideoTracks) -> VideoObjects:
    """The video's objects: its tracks' segments joined with the analysis's settings."""
    return join_segments(
        tracks.segments,
        min_hits=min_track_hits(settings, video),
        link_gap_ms=link_gap_ms(settings),
        frame_size=frame_size(video),
        edges_ms=video_edges_ms(settings, video),
    )


def link_gap_ms(settings: Mapping[str, Any]) -> int:
    """LINK_GAP_SECONDS in ms; 0 (no linking) for settings written before it existed, as those analyses started."""
    return round(float(settings.get("link_gap_seconds", 0.0)) * 1000)


def min_track_hits(settings: Mapping[str, Any], video: Mapping[str, Any]) -> int:
    """MIN_TRACK_SECONDS as a number of analysed frames at the rate frames were analysed."""
    return max(1, math.ceil(float(settings.get("min_track_seconds", 0.0)) * _analysed_fps(settings, video) - 1e-9))


def video_edges_ms(settings: Mapping[str, Any], video: Mapping[str, Any]) -> tuple[int, int] | None:
    """The ends of the video's first and last sampling intervals, in ms: an object seen there was cut short by the
    video (`objects.join_segments`); None when the video's duration is unknown."""
    duration_s = video.get("duration_s")
    if not duration_s:
        return None
    interval_ms = 1000 / _analysed_fps(settings, video)
    return round(interval_ms), round(float(duration_s) * 1000 - interval_ms)


def _analysed_fps(settings: Mapping[str, Any], video: Mapping[str, Any]) -> float:
    """The rate frames were analysed at: SAMPLE_FPS, else every frame."""
    return float(settings.get("sample_fps") or video.get("fps") or 1.0)


def frame_size(video: Mapping[str, Any]) -> tuple[int, int] | None:
    """(width, height) of the video's frames; None when the video could not be probed."""
    width, height = video.get("width"), video.get("height")
    return (int(width), int(height)) if width and height else None


def failed_summary(video_name: str, error: str, settings: Mapping[str, Any]) -> Summary:
    """The summary of a video that could not be read at all, so a caller always finds a summary with a reason."""
    return build_summary(SummaryVideo(video_name), settings, [], VideoTracks(), wall_s=None, error=error)
