"""Train the demo detector: YOLO26n from scratch on synthetic scenes, CPU only, offline.

Renders a training set from `scenes.generator` (seeds from `TRAIN_SEED_BASE` up; held-out evaluation uses
low seeds), trains `yolo26n.yaml` with random initialisation, and writes `models/demo-yolo26n.pt` (stripped) and
`models/demo-yolo26n.onnx` (dynamic batch and image size). Everything Ultralytics writes (settings, runs) goes to a
temporary directory.

`--scenarios` renders the scenes of every `scenes.scenarios` scenario in turn (pillars, groups, entries at the top
and bottom edges, a shaking or panning camera, ...) instead of plain scenes only, and `--cycle` a chosen list of them
(a name twice renders that scenario twice as often); `--init` starts from trained weights (the demo model is
plain-scene training from scratch, then two fine-tunes on scenario scenes: models/README.md).

Training sees whole frames at the scale inference sees them (scaled to `IMGSZ` wide, letterboxed to 416x256 with
`rect`), without mosaic: mosaic and crops label fragments of large objects, which the model then reports as extra
boxes beside the whole object, and every such box becomes an extra track when counting.

    .venv/bin/python tools/train_demo_model.py
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import cv2
import matplotlib
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scenes.generator import CLASSES, Scene  # noqa: E402
from scenes.scenarios import SCENARIOS, Scenario, scenario  # noqa: E402

TRAIN_SEED_BASE = 10_000
VAL_SEED_BASE = 20_000
RENDER_SIZES = ((1280, 720), (960, 540), (640, 360), (480, 270))
LABEL_MIN_IN_FRAME = 0.3  # labels are looser than the visibility rule, so borderline objects are still learnt
LABEL_MAX_HIDDEN = 0.5
IMGSZ = 416  # the model is meant for imgsz=416; images are stored at that scale


def build_dataset(
    root: Path,
    scenes: int,
    per_scene: int,
    seed_base: int,
    kinds: tuple[Scenario | None, ...] = (None,),
    seconds: float = 40.0,
) -> int:
    """Render `scenes` scenes, `per_scene` random frames each, as YOLO images + labels under `root`.

    Scene k is of kind `kinds[k % len(kinds)]` (None: the generator's plain scene)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    n = 0
    for k in range(scenes):
        seed = seed_base + k
        rng = np.random.default_rng(seed)
        size = RENDER_SIZES[k % len(RENDER_SIZES)]
        scene = Scene(seed, seconds, 25.0, size, scenario=kinds[k % len(kinds)])
        f = IMGSZ / size[0]
        height = round(size[1] * f)
        for index in sorted(rng.choice(scene.n_frames, per_scene, replace=False)):
            frame = scene.frame(int(index))
            image = cv2.resize(frame.image, (IMGSZ, height), interpolation=cv2.INTER_AREA)
            lines = []
            for obj in frame.objects:
                if obj.in_frame < LABEL_MIN_IN_FRAME or obj.hidden > LABEL_MAX_HIDDEN:
                    continue
                x1, y1, x2, y2 = obj.box
                cx, cy = (x1 + x2) / 2 / size[0], (y1 + y2) / 2 / size[1]
                w, h = (x2 - x1) / size[0], (y2 - y1) / size[1]
                lines.append(f"{CLASSES.index(obj.cls)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
            name = f"s{seed}_f{int(index):05d}"
            quality = int(rng.integers(60, 95))  # compression artefacts like a video decoder's
            cv2.imwrite(str(root / "images" / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            (root / "labels" / f"{name}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenes", type=int, default=250, help="training scenes")
    p.add_argument("--seed-base", type=int, default=TRAIN_SEED_BASE, help="first training scene seed")
    p.add_argument("--init", default="yolo26n.yaml", help="model to start from: the yaml (random init) or weights")
    p.add_argument("--lr0", type=float, default=0.002)
    p.add_argument(
        "--scenarios",
        action="store_true",
        help="cycle through every scene scenario (pillars, edges, a moving camera, ...), not plain scenes only",
    )
    p.add_argument(
        "--cycle",
        default="",
        help="comma-separated scenario names to cycle through instead (a name given twice is rendered twice as often; "
        "EXTRA_SCENARIOS such as parked allowed); validation still cycles through every scenario",
    )
    p.add_argument("--per-scene", type=int, default=12, help="frames sampled per training scene")
    p.add_argument("--val-scenes", type=int, default=10, help="validation scenes (seeds from 20000)")
    p.add_argument("--time-hours", type=float, default=0.45, help="training time budget (Ultralytics 'time')")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "models")
    p.add_argument("--work", type=Path, default=None, help="work dir (default: a new temp dir, removed afterwards)")
    args = p.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="demo-train-"))
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(work / "config")
    # Ultralytics' dataset check wants Arial.ttf for plot labels and would try to fetch it; plots are off, so any
    # local font does: matplotlib's bundled one, placed where Ultralytics looks first.
    fonts = work / "config" / "Ultralytics"
    fonts.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", fonts / "Arial.ttf")

    t0 = time.time()
    data = work / "data"
    val_kinds: tuple[Scenario | None, ...] = SCENARIOS if args.scenarios or args.cycle else (None,)
    kinds = tuple(scenario(name) for name in args.cycle.split(",")) if args.cycle else val_kinds
    n_train = build_dataset(data / "train", args.scenes, args.per_scene, args.seed_base, kinds)
    n_val = build_dataset(data / "val", args.val_scenes, args.per_scene, VAL_SEED_BASE, val_kinds)
    names = "\n".join(f"  {i}: {c}" for i, c in enumerate(CLASSES))
    (work / "data.yaml").write_text(f"path: {data}\ntrain: train/images\nval: val/images\nnames:\n{names}\n")
    print(f"dataset: {n_train} train / {n_val} val images in {time.time() - t0:.0f}s", flush=True)

    import torch
    from ultralytics import YOLO

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    model = YOLO(args.init)
    t1 = time.time()
    model.train(
        data=str(work / "data.yaml"),
        epochs=100,  # replaced by the time budget
        time=args.time_hours,
        imgsz=IMGSZ,
        rect=True,
        mosaic=0.0,
        scale=0.3,
        batch=args.batch,
        optimizer="AdamW",  # 'auto' picks MuSGD for long schedules, several times slower per step on CPU
        lr0=args.lr0,
        nbs=args.batch,  # one optimizer step per batch: the most steps from the CPU time
        warmup_epochs=0.3,
        workers=args.workers,
        device="cpu",
        amp=False,
        plots=False,
        pretrained=args.init.endswith(".pt"),
        cache="ram",
        project=str(work / "runs"),
        name="train",
        exist_ok=True,
        seed=0,
        deterministic=False,
        patience=1000,
    )
    train_s = time.time() - t1
    args.out.mkdir(parents=True, exist_ok=True)
    pt = args.out / "demo-yolo26n.pt"
    shutil.copyfile(work / "runs" / "train" / "weights" / "best.pt", pt)  # stripped: no optimizer state, fp16
    onnx = YOLO(str(pt)).export(format="onnx", imgsz=IMGSZ, dynamic=True, simplify=False, device="cpu")
    shutil.move(onnx, args.out / "demo-yolo26n.onnx")
    print(f"training took {train_s / 60:.1f} min; wrote {pt} and {args.out / 'demo-yolo26n.onnx'}", flush=True)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
