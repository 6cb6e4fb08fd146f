"""Smoke test of a deployed app (`make smoke` after `azd up`): one clip in, the counts this machine gets out.

    .venv/bin/python tools/smoke.py      # azd's outputs and FUNCTION_KEY from the environment (make smoke sets them)
    .venv/bin/python tools/smoke.py --api https://APP.azurewebsites.net/api --key KEY --account ACCOUNT

It writes the demo's synthetic scene (`make demo`'s seed, shortened), counts it here with the demo model and the
app's default settings, uploads it to VIDEO_CONTAINER (with your Azure login, or a connection string), polls
`GET /api/analyses/{id}` until the analysis is done, and compares the deployed app's summary with the local counts:
the same orchestrator, activities and tracker run on both sides, so they must be equal. One line, exit 0 or 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO_MODEL = ROOT / "models" / "demo-yolo26n-int8.onnx"
DEMO_SEED = 7
"""The scene of `make demo` (`videoanalysis demo --seed`'s default)."""
AZD_OUTPUTS = ("API_BASE_URL", "AZURE_STORAGE_ACCOUNT_NAME", "VIDEO_CONTAINER", "AZURE_FUNCTION_APP_NAME")
"""The template's outputs this tool reads from the environment (`azd env get-values`; tests/test_infra.py checks)."""


class SmokeError(Exception):
    """The smoke test failed; the message says how, in one line."""


@dataclass(frozen=True)
class Target:
    api: str  # the API's base URL, .../api
    key: str  # a function key (empty for a host that needs none)
    container: str
    account: str | None = None  # the storage account, reached with your Azure login
    connection_string: str | None = None  # or a connection string (Azurite)
    app: str = "the app"


def make_clip(folder: Path, seconds: float) -> Path:
    from scenes.generator import write_scene

    video = folder / "scene-smoke.mp4"
    write_scene(video, None, seed=DEMO_SEED, seconds=seconds)
    return video


def local_counts(video: Path, model: Path, folder: Path) -> dict[str, int]:
    """Unique objects per class on this machine: the app's default settings, as the deployment leaves them."""
    from runner.cli import analyze_file
    from videoanalysis.settings import Settings

    out = folder / "local" / "summary.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    outcome = analyze_file(video, out, Settings(model_path=str(model)), workers=1, progress=False)
    if outcome.get("status") != "succeeded":
        raise SmokeError(f"the local analysis of the clip {outcome.get('status')}: {outcome.get('error')}")
    return counts(json.loads(out.read_text()))


def counts(summary: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(row["unique"]) for name, row in sorted(summary["classes"].items())}


def upload(video: Path, target: Target, name: str) -> str:
    """The analysis id the app gives this upload (a hash of the blob and its new ETag)."""
    from runner.upload import upload as put
    from videoanalysis.contracts import BlobRef
    from videoanalysis.names import instance_id

    if target.account and not target.connection_string:
        # your login, through the app's own storage code (the setting's name is case-sensitive)
        os.environ["AzureWebJobsStorage__accountName"] = target.account  # noqa: SIM112
    ref = BlobRef(target.container, name)
    try:
        return instance_id(ref, put(video, ref, target.connection_string))
    except Exception as error:  # the SDK's errors have many classes; the first line says what happened
        raise SmokeError(f"upload to {target.container}/{name} failed: {_first_line(error)}") from None


def get_json(url: str, key: str) -> tuple[int, Any]:
    """(status, JSON body) of a GET with the function key; 404 is an answer, not an error."""
    query = f"{'&' if '?' in url else '?'}{urllib.parse.urlencode({'code': key})}" if key else ""
    try:
        with urllib.request.urlopen(url + query, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return 404, None
        raise SmokeError(f"GET {url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise SmokeError(f"GET {url}: {_first_line(error)}") from None


def wait_for_summary(
    target: Target, analysis: str, timeout: float, interval: float, clock: Callable[[], float] = time.monotonic
) -> dict[str, Any]:
    """Poll the status route until the analysis is done; its own summary."""
    status_url = f"{target.api.rstrip('/')}/analyses/{urllib.parse.quote(analysis)}"
    deadline, last = clock() + timeout, "not started (no blob trigger event yet)"
    while clock() < deadline:
        code, status = get_json(status_url, target.key)
        if code == 200:
            runtime = status.get("status")
            if runtime == "Completed":
                result = status.get("result") or {}
                if result.get("status") != "succeeded":
                    raise SmokeError(f"analysis {analysis} ended {result.get('status')}: {result.get('error')}")
                code, summary = get_json(status["summary"]["url"], target.key)
                if code != 200:
                    raise SmokeError(f"analysis {analysis} completed, but its summary is missing")
                return dict(summary)
            if runtime in ("Failed", "Terminated", "Canceled"):
                raise SmokeError(f"analysis {analysis} {runtime.lower()}: {status.get('error')}")
            progress = status.get("progress") or {}
            last = f"{runtime}, {progress.get('chunks_done', 0)}/{progress.get('chunks_total', '?')} chunks"
        time.sleep(interval)
    raise SmokeError(f"no result for analysis {analysis} after {timeout:.0f} s (last: {last})")


def run(target: Target, model: Path, seconds: float, timeout: float, interval: float, folder: Path) -> str:
    started = time.monotonic()
    video = make_clip(folder, seconds)
    expected = local_counts(video, model, folder)
    name = f"smoke-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.mp4"
    analysis = upload(video, target, name)
    deployed = counts(wait_for_summary(target, analysis, timeout, interval))
    if deployed != expected:
        raise SmokeError(f"{name} counted {_listed(deployed)} on {target.app}, {_listed(expected)} on this machine")
    elapsed = time.monotonic() - started
    return f"{name} counted {_listed(deployed)} on {target.app}, as on this machine ({elapsed:.0f} s)"


def _listed(counted: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counted.items()) or "nothing"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--api", default=environ.get("API_BASE_URL"), help="the API's base URL (API_BASE_URL)")
    parser.add_argument("--key", default=environ.get("FUNCTION_KEY", ""), help="a function key (FUNCTION_KEY)")
    parser.add_argument("--account", default=environ.get("AZURE_STORAGE_ACCOUNT_NAME"), help="storage account")
    parser.add_argument("--connection-string", help="storage connection string instead of your Azure login")
    parser.add_argument("--container", default=environ.get("VIDEO_CONTAINER", "videos"), help="%(default)s")
    parser.add_argument("--app", default=environ.get("AZURE_FUNCTION_APP_NAME", "the app"), help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, default=DEMO_MODEL, help="the deployment's MODEL_PATH, here")
    parser.add_argument("--seconds", type=float, default=12.0, help="clip length (%(default)s s)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the result (%(default)s)")
    parser.add_argument("--interval", type=float, default=5.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.api or not (args.account or args.connection_string):
        print("smoke: failed: give --api and --account (or run `make smoke` after `azd up`)", file=sys.stderr)
        return 1
    target = Target(args.api, args.key, args.container, args.account, args.connection_string, args.app)
    with tempfile.TemporaryDirectory(prefix="smoke-") as folder:
        try:
            line = run(target, args.model, args.seconds, args.timeout, args.interval, Path(folder))
        except SmokeError as error:
            print(f"smoke: failed: {error}", file=sys.stderr)
            return 1
    print(f"smoke: ok: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
