"""Held-out accuracy of the demo detector on synthetic scenes from seeds never used for training.

Detection: per frame and class, detections (highest confidence first) are matched greedily to the unmatched truth
box of the same class with the highest IoU >= 0.5. A match to a visible object is a true positive; a match to an
object that is present but not visible (mostly outside the frame or hidden) is ignored, and so is an unmatched
detection lying at least half inside the box of such an object (a "don't care" region: a partly visible object whose
box the detector guessed differently); any other detection is a false positive.
Recall is over visible objects. Precision and recall use every frame.

Counting: a plain single-pass `model.track(frame, persist=True)` over the frames sampled at `--track-fps` (the
pipeline's time-based rule; default 5 = the SAMPLE_FPS default; 0 = every frame), with Ultralytics' default tracker
(TrackTrack in 8.4) or `--tracker bytetrack.yaml` etc.; each track id is counted once, under its most frequent
class, and compared with the truth's `unique`. A second count uses
`videoanalysis.tracking.tracker.new_tracker` fed with `Detector` output on the same frames and, like the pipeline's
MIN_TRACK_SECONDS, drops tracks seen for less than `--min-track-seconds` (chunking and linking are not involved).
Exit status 0 iff per class precision and recall >= 0.95 and every plain-tracking count is within 1 of the truth.

    .venv/bin/python tools/eval_demo_model.py                  # seeds 0-7, tracking at 5 fps
    .venv/bin/python tools/eval_demo_model.py --track-fps 0    # tracking every frame
    .venv/bin/python tools/eval_demo_model.py --tracker bytetrack.yaml
    .venv/bin/python tools/eval_demo_model.py --end2end            # the NMS-free one-to-one head (END2END=true)
    .venv/bin/python tools/eval_demo_model.py --pipeline-gmc none  # the pipeline's tracker as with TRACKER_GMC=none
    .venv/bin/python tools/eval_demo_model.py --scenario groups --size 640x360  # walkers in groups, at 360p
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenes.boxes import iou_matrix  # noqa: E402
from scenes.generator import CLASSES, Scene, parse_size  # noqa: E402
from scenes.scenarios import scenario  # noqa: E402
from videoanalysis.settings import CHOICES, Settings  # noqa: E402
from videoanalysis.summary import min_track_hits  # noqa: E402

DEFAULTS = Settings()

IOU = 0.5
DONT_CARE = 0.5  # an unmatched detection lying this much inside a same-class object that is not visible is ignored


def covered_share(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Share of each box in `a` (N, 4) that lies inside each box in `b` (M, 4)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return w * h / ((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]


def match_frame(dets, states, names: dict[int, str]) -> dict[str, Counter]:
    """Per-class true positives, false positives, ignored detections and visible truths of one frame."""
    out: dict[str, Counter] = defaultdict(Counter)
    for cls in CLASSES:
        truth = [s for s in states if s.cls == cls]
        out[cls]["truth"] += sum(s.visible for s in truth)
        keep = np.array([names[int(c)] == cls for c in dets.cls], dtype=bool)
        boxes, conf = dets.xyxy[keep], dets.conf[keep]
        tboxes = np.array([s.box for s in truth], dtype=np.float64).reshape(-1, 4)
        ious = iou_matrix(boxes.astype(np.float64), tboxes)
        used = np.zeros(len(truth), dtype=bool)
        hidden = np.array([not s.visible for s in truth], dtype=bool)
        inside = covered_share(boxes.astype(np.float64), tboxes[hidden])
        for d in np.argsort(-conf):
            candidates = np.where(~used & (ious[d] >= IOU), ious[d], -1.0) if len(truth) else np.array([])
            if len(candidates) == 0 or candidates.max() < 0:
                out[cls]["ignored" if inside.shape[1] and inside[d].max() >= DONT_CARE else "fp"] += 1
                continue
            t = int(candidates.argmax())
            used[t] = True
            out[cls]["tp" if truth[t].visible else "ignored"] += 1
    return out


def sampled(n_frames: int, fps: float, sample_fps: float) -> list[int]:
    """Frame indices kept by the pipeline's time-based sampling rule."""
    keep, last = [], None
    for i in range(n_frames):
        bucket = (round(i * 1000 / fps) * sample_fps) // 1000
        if bucket != last:
            keep.append(i)
        last = bucket
    return keep


def count_tracks(labels: dict[int, Counter], min_frames: int = 1) -> dict[str, int]:
    """Tracks per class (each under its most frequent class), counting those seen in at least `min_frames`."""
    counts = dict.fromkeys(CLASSES, 0)
    for votes in labels.values():
        if votes.total() >= min_frames:
            counts[votes.most_common(1)[0][0]] += 1
    return counts


def evaluate_seed(args: argparse.Namespace, seed: int) -> dict:
    from ultralytics import YOLO

    from videoanalysis.detector import Detector
    from videoanalysis.tracking.camera_motion import CameraMotion
    from videoanalysis.tracking.tracker import new_tracker

    scene = Scene(seed, args.seconds, args.fps, args.size, scenario=scenario(args.scenario) if args.scenario else None)
    truth = scene.truth()
    detector = Detector(args.model, imgsz=args.imgsz, conf=args.conf, batch=args.batch, end2end=args.end2end)
    names = detector.names
    totals: dict[str, Counter] = defaultdict(Counter)
    track_model = YOLO(args.model, task="detect")  # a separate instance: track() attaches callbacks to its model
    keep = set(sampled(scene.n_frames, scene.fps, args.track_fps) if args.track_fps else range(scene.n_frames))
    pipeline = DEFAULTS.replace(tracker=args.pipeline_tracker, tracker_gmc=args.pipeline_gmc)
    tracker = new_tracker(args.track_fps or scene.fps, pipeline)
    motion = CameraMotion(pipeline.tracker_gmc)
    tracker_option = {} if args.tracker == "default" else {"tracker": args.tracker}
    if args.end2end:
        tracker_option["nms"] = False  # what Detector does for a model with YOLO26's NMS-free head
    plain: dict[int, Counter] = defaultdict(Counter)
    piped: dict[int, Counter] = defaultdict(Counter)
    t0 = time.time()
    for start in range(0, scene.n_frames, args.batch):
        frames = [scene.frame(i) for i in range(start, min(start + args.batch, scene.n_frames))]
        for frame, dets in zip(frames, detector.detect([f.image for f in frames]), strict=True):
            for cls, c in match_frame(dets, frame.objects, names).items():
                totals[cls].update(c)
            if frame.index not in keep:
                continue
            for t in tracker.update(dets, frame.image.shape[:2], motion(frame.image)):
                piped[t.track_id][names[t.cls]] += 1 + len(t.before)
            r = track_model.track(
                frame.image, persist=True, imgsz=args.imgsz, conf=args.conf, verbose=False, **tracker_option
            )[0]
            if r.boxes.id is not None:
                for tid, c in zip(r.boxes.id.int().tolist(), r.boxes.cls.int().tolist(), strict=True):
                    plain[tid][names[c]] += 1
    result = {"seed": seed, "frames": scene.n_frames, "seconds": round(time.time() - t0, 1), "classes": {}}
    rate = args.track_fps or scene.fps
    plain_counts = count_tracks(plain)
    piped_counts = count_tracks(
        piped, min_track_hits({"sample_fps": rate, "min_track_seconds": args.min_track_seconds}, {})
    )
    for cls in CLASSES:
        c = totals[cls]
        result["classes"][cls] = {
            "tp": c["tp"],
            "fp": c["fp"],
            "ignored": c["ignored"],
            "visible_truth": c["truth"],
            "truth_unique": truth["unique"][cls],
            "plain_track_unique": plain_counts[cls],
            "pipeline_track_unique": piped_counts[cls],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "demo-yolo26n.pt"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5, 6, 7])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--size", type=parse_size, default=(1280, 720))
    p.add_argument("--scenario", help="scenes of this scenario (scenes.scenarios: groups, poles, ...), not plain ones")
    p.add_argument("--imgsz", type=int, default=416)
    p.add_argument("--conf", type=float, default=0.25)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--track-fps", type=float, default=5.0, help="track frames sampled at this rate; 0: every frame")
    p.add_argument("--tracker", default="default", help="model.track tracker config; default: Ultralytics' default")
    p.add_argument(
        "--end2end", action=argparse.BooleanOptionalAction, default=False, help="YOLO26's NMS-free head (default: NMS)"
    )
    p.add_argument("--pipeline-tracker", default=DEFAULTS.tracker, choices=CHOICES["tracker"], help="new_tracker kind")
    gmc_choices = CHOICES["tracker_gmc"]
    p.add_argument("--pipeline-gmc", default=DEFAULTS.tracker_gmc, choices=gmc_choices, help="new_tracker TRACKER_GMC")
    p.add_argument(
        "--min-track-seconds", type=float, default=DEFAULTS.min_track_seconds, help="new_tracker: shorter ones dropped"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))

    results = []
    for seed in args.seeds:
        r = evaluate_seed(args, seed)
        results.append(r)
        print(json.dumps(r), flush=True)
    rate = f"{args.track_fps:g} fps" if args.track_fps else "every frame"
    print(
        f"\nheld-out seeds {args.seeds} ({args.scenario or 'plain'} scenes), {args.seconds:g} s at {args.fps:g} fps, "
        f"{args.size[0]}x{args.size[1]}, imgsz {args.imgsz}, conf {args.conf}; tracking {rate} with {args.tracker} "
        f"tracker, {'NMS-free head' if args.end2end else 'NMS'}"
    )
    ok = True
    total = Counter()
    for cls in CLASSES:
        c = Counter()
        for r in results:
            c.update({k: r["classes"][cls][k] for k in ("tp", "fp", "visible_truth")})
        total.update(c)
        precision, recall = c["tp"] / max(1, c["tp"] + c["fp"]), c["tp"] / max(1, c["visible_truth"])
        plain = [r["classes"][cls]["plain_track_unique"] - r["classes"][cls]["truth_unique"] for r in results]
        piped = [r["classes"][cls]["pipeline_track_unique"] - r["classes"][cls]["truth_unique"] for r in results]
        ok &= precision >= 0.95 and recall >= 0.95 and max(map(abs, plain)) <= 1
        print(
            f"{cls:7s} precision {precision:.4f} recall {recall:.4f} (tp {c['tp']}, fp {c['fp']}, "
            f"visible {c['visible_truth']}); count error per seed, model.track: {plain}, "
            f"new_tracker({args.pipeline_tracker}, gmc {args.pipeline_gmc}) >= {args.min_track_seconds:g} s: {piped}"
        )
    precision, recall = total["tp"] / max(1, total["tp"] + total["fp"]), total["tp"] / max(1, total["visible_truth"])
    print(f"all     precision {precision:.4f} recall {recall:.4f}")
    print("PASS" if ok else "FAIL")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
