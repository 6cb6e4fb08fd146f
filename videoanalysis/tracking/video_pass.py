"""The fan-in's tracking pass: one tracker over the whole video's detections, read back from the chunks.

Chunks detect in parallel; tracking is sequential by nature, and a tracker restarted at every seam decides an
occlusion near a seam differently from one that saw the object before it. So the chunks store each analysed frame's
detections and the camera's motion since the previous frame (`videoanalysis.detections_file`), and this pass feeds
them to one tracker in time order: the tracks are those of one sequential pass whatever the chunking, and so are the
counts, lines and zones built on them. It costs a tracker update per analysed frame and no image.

A failed chunk leaves a hole in the frames: the pass starts a fresh tracker after it, so no track bridges frames
nobody analysed.

Each track splits into one segment per class it takes (`TrackSegment`), again where it turned back at a border
(`borders.turns`: the tracker went on with another object there), and where it took over the object another track
was following (`switches`); a segment's boxes are traced against every
line, tested against every zone, and its thumbnail is the most confident crop a chunk kept of one of the detections
the tracker gave it; without one, the most confident crop of the chunks' runs its detections belong to
(`analysis._Crops`), which shows the same object unless the run joined two.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from videoanalysis.contracts import ChunkResult, Crop, VideoInfo
from videoanalysis.detections_file import FrameRecord, Thumbnail, rounded_box
from videoanalysis.detector import Detections
from videoanalysis.regions import EMPTY, Box, Regions, anchors, inside, trace
from videoanalysis.settings import Settings
from videoanalysis.tracking.borders import turns
from videoanalysis.tracking.gaps import Point
from videoanalysis.tracking.objects import TrackSegment, most_confident
from videoanalysis.tracking.switches import switches
from videoanalysis.tracking.tracker import new_tracker


@dataclass(frozen=True)
class VideoTracks:
    """The pass's segments in the order their tracks began, and per zone and class the most tracked boxes inside it in
    one frame."""

    segments: tuple[TrackSegment, ...] = ()
    zone_peaks: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass
class _Builder:
    """A segment as it grows frame by frame: its frames' boxes, and the crops of the runs its detections belong to as
    (t_ms, crop, whether the crop is of its own detection), and the camera's pan at each frame (`TrackSegment.pans`).
    `taken_over`: it is the rest of a track cut where the track took over another's object (`switches`), so it
    follows the segment before it."""

    cls: str
    frames: list[tuple[int, Box]] = field(default_factory=list)
    crops: list[tuple[int, Thumbnail, bool]] = field(default_factory=list)
    pans: list[Point] = field(default_factory=list)
    taken_over: bool = False

    def pieces(self, frame_size: tuple[int, int]) -> list[_Builder]:
        """The segment cut where its track turned back at a border (`borders.turns`): from there on, the track
        followed another object."""
        return self._cut(turns([box for _, box in self.frames], frame_size))

    def taken_over_at(self, k: int | None) -> list[_Builder]:
        """The segment cut before its frame k, where its track took over another's object; itself when k is None."""
        if k is None:
            return [self]
        before, after = self._cut([k])
        return [before, replace(after, taken_over=True)]

    def _cut(self, at: Sequence[int]) -> list[_Builder]:
        found = []
        for start, end in itertools.pairwise([0, *at, len(self.frames)]):
            first_ms, end_ms = self.frames[start][0], self.frames[end - 1][0]
            crops = [crop for crop in self.crops if first_ms <= crop[0] <= end_ms]
            found.append(_Builder(self.cls, self.frames[start:end], crops, self.pans[start:end]))
        return found

    def outline(self, segment_id: int) -> TrackSegment:
        """The segment as far as linking reads it: its class, boxes and the camera's pans."""
        frames = tuple(self.frames)
        return TrackSegment(segment_id, self.cls, frames[0], frames[-1], len(frames), boxes=frames, pans=self._pans())

    def _pans(self) -> tuple[Point, ...]:
        """The camera's pan at each frame; none for a camera that did not move."""
        return tuple(self.pans) if any(pan != (0.0, 0.0) for pan in self.pans) else ()

    def segment(self, segment_id: int, regions: Regions, crops: Mapping[Thumbnail, Crop]) -> TrackSegment:
        """The finished segment; a line it never was clearly on a side of is left out of `lines` (its trace is EMPTY,
        which the summary assumes for a missing line)."""
        traces = {line.name: trace(line, self.frames) for line in regions.lines}
        # The most confident crop of its own detections if it has one, else of its runs.
        own = {run for _, run, is_own in self.crops if is_own}
        runs = own or {run for _, run, _ in self.crops}
        best = most_confident((crops[t].conf, t) for t in runs if t in crops)
        conf, thumbnail = best or (None, None)
        points = anchors(box for _, box in self.frames)
        return TrackSegment(
            id=segment_id,
            cls=self.cls,
            first=self.frames[0],
            last=self.frames[-1],
            hits=len(self.frames),
            thumbnail=thumbnail,
            thumbnail_conf=conf,
            lines={name: line_trace for name, line_trace in traces.items() if line_trace != EMPTY},
            zones=tuple(sorted(zone.name for zone in regions.zones if inside(zone, points).any())),
            boxes=tuple(self.frames),
            follows=segment_id - 1 if self.taken_over else None,
            pans=self._pans(),
        )


def track_video(
    sequences: Iterable[Iterable[FrameRecord]],
    frame_shape: tuple[int, int],
    frame_rate: float,
    settings: Settings,
    crops: Mapping[Thumbnail, Crop] | None = None,
) -> VideoTracks:
    """Track each sequence of consecutive frames (those of consecutive chunks that succeeded) with a fresh tracker;
    `frame_shape` is (height, width), `crops` what each of the chunks' crops shows."""
    crops = crops or {}
    regions = settings.count_regions
    class_ids: dict[str, int] = {}
    builders: dict[tuple[int, int, str], _Builder] = {}
    peaks: dict[str, dict[str, int]] = {}
    for sequence, frames in enumerate(sequences):
        tracker = new_tracker(frame_rate, settings)
        times: list[int] = []  # of the frames fed to this tracker
        pans: list[Point] = []  # the camera's at each of them
        view = np.eye(3)  # from the current frame's coordinates to the first one's
        for frame in frames:
            times.append(frame.t_ms)
            if frame.motion is not None:
                view = view @ np.linalg.inv(np.vstack([frame.motion, (0.0, 0.0, 1.0)]))
            pans.append((float(view[0, 2]), float(view[1, 2])))
            ids = [class_ids.setdefault(cls, len(class_ids)) for cls in frame.cls]
            tracked = tracker.update(_detections(frame, ids), frame_shape, frame.motion)
            seen = []
            for track in tracked:
                cls = frame.cls[track.det]
                builder = builders.setdefault((sequence, track.track_id, cls), _Builder(cls))
                builder.frames.extend((times[-1 - ago], rounded_box(b)) for ago, b in track.before)
                builder.pans.extend(pans[-1 - ago] for ago, _ in track.before)
                box = rounded_box(track.xyxy)
                builder.frames.append((frame.t_ms, box))
                builder.pans.append(pans[-1])
                if frame.crops and (run := frame.crops[track.det]) is not None:
                    crop = crops.get(run)
                    own = crop is not None and (crop.t_ms, crop.det) == (frame.t_ms, track.det)
                    builder.crops.append((frame.t_ms, run, own))
                seen.append((cls, box))
            _zones_frame(regions, seen, peaks)
    height, width = frame_shape
    pieces = [piece for builder in builders.values() for piece in builder.pieces((width, height))]
    outlines = [piece.outline(k) for k, piece in enumerate(pieces, 1)]
    taken_over = switches(outlines, round(settings.link_gap_seconds * 1000), (width, height))
    pieces = [part for k, piece in enumerate(pieces) for part in piece.taken_over_at(taken_over.get(k))]
    return VideoTracks(tuple(piece.segment(k, regions, crops) for k, piece in enumerate(pieces, 1)), peaks)


def _detections(frame: FrameRecord, class_ids: Sequence[int]) -> Detections:
    if not frame.boxes:
        return Detections.empty()
    return Detections(
        np.asarray(frame.boxes, dtype=np.float32),
        np.asarray(frame.conf, dtype=np.float32),
        np.asarray(class_ids, dtype=np.int64),
    )


def _zones_frame(regions: Regions, seen: Sequence[tuple[str, Box]], peaks: dict[str, dict[str, int]]) -> None:
    """Raise each zone's per-class peaks with the tracked boxes of one frame, (class, box)."""
    if not regions.zones or not seen:
        return
    points = anchors(box for _, box in seen)
    for zone in regions.zones:
        zone_peaks = peaks.setdefault(zone.name, {})
        counts = Counter(cls for (cls, _), hit in zip(seen, inside(zone, points), strict=True) if hit)
        for cls, count in counts.items():
            zone_peaks[cls] = max(zone_peaks.get(cls, 0), count)


def track_chunks(
    chunks: Sequence[ChunkResult], frames: Mapping[int, Sequence[FrameRecord]], video: VideoInfo, settings: Settings
) -> VideoTracks:
    """The pass over the frames of the chunks that succeeded (`frames`, by chunk index): a fresh tracker after each
    chunk that did not, at the rate the chunks analysed frames."""
    done = sorted(c.index for c in chunks if c.status == "ok" and c.index in frames)
    sequences: list[list[int]] = []
    for index in done:
        if sequences and sequences[-1][-1] == index - 1:
            sequences[-1].append(index)
        else:
            sequences.append([index])
    crops = {(c.index, crop_id): crop for c in chunks if c.index in frames for crop_id, crop in c.thumbnails.items()}
    return track_video(
        ([frame for index in sequence for frame in frames[index]] for sequence in sequences),
        (video.height, video.width),
        settings.sample_fps or video.fps,
        settings,
        crops,
    )
