"""One structured log line per activity step, which Application Insights collects from Python logging as a trace.

The line is `videoanalysis <step> <JSON>`: the JSON names the analysis (instance id), the video and the chunk, with
the step's timings and counts, so a query can parse it (docs/operations.md, Logs).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from videoanalysis.contracts import Job

log = logging.getLogger("videoanalysis")


def step(name: str, job: Job, **fields: Any) -> None:
    video = f"{job.video.container}/{job.video.name}"
    log.info("videoanalysis %s %s", name, json.dumps({"instance": job.instance, "video": video, **fields}))
