"""The Azure time and cost estimate (bench/cost_model.py): its arithmetic on inputs worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.cost_model import Measured, Plan, estimate, host_settings, load_measured, markdown

KNOWN = Measured(
    chunk_cpu_s=4.0,
    worker_start_s=3.0,
    app_import_s=1.0,
    replay_points=((100, 0.1), (1000, 1.0)),
    summary_cpu_s=0.5,
    eval_machine="test",
    bench_machine="test",
)


def test_ten_instances_run_the_hour_in_waves() -> None:
    result = estimate(KNOWN, Plan(2048, 1, 1), 10)
    assert (result.chunks, result.used, result.waves) == (360, 10, 36)
    assert result.seconds["chunks"] == pytest.approx(36 * 4.0)
    assert result.seconds["fan-out dispatch"] == pytest.approx(360 / 100)  # the published 100 activities/s
    # The last wave's 10 responses at 150/s, and one orchestrator episode replaying a 360-chunk history (0.36 s).
    assert result.seconds["fan-in of the last wave"] == pytest.approx(10 / 150 + 0.36)
    assert result.total_s == pytest.approx(1.0 + 3.6 + 3.0 + 144 + 10 / 150 + 0.36 + 0.5)
    # 2 GB x (360 chunks x 4 s + 10 worker starts x 3 s + plan and summary at the 1 s minimum + 38 episodes x 1 s).
    assert result.gb_s == pytest.approx(2 * (1440 + 30 + 2 + 38))
    assert result.executions == 360 + 38 + 3
    assert result.cost_usd == pytest.approx(3020 * 0.000026 + 401 * 0.40 / 1e6)
    assert not result.over_quota


def test_more_instances_than_chunks_leave_the_rest_idle_and_pass_the_quota() -> None:
    result = estimate(KNOWN, Plan(4096, 2, 2), 1000)
    assert (result.used, result.waves) == (180, 1)
    assert result.seconds["chunks"] == pytest.approx(4.0)
    assert result.seconds["fan-in of the last wave"] == pytest.approx(360 / 150 + 12 * 0.36)  # 12 polls of 32
    assert result.gb_s == pytest.approx(4 * (360 * 4.0 / 2 + 180 * 3.0 + 2 + 38))
    assert result.over_quota  # 180 x 4096 MB > 512,000 MB


def test_chunks_beyond_the_cores_share_them() -> None:
    result = estimate(KNOWN, Plan(2048, 1, 2), 100)
    assert (result.used, result.waves) == (100, 2)
    assert result.seconds["chunks"] == pytest.approx(2 * 8.0)


def test_a_slower_vcpu_scales_every_measured_time_but_not_the_published_rates() -> None:
    same, slow = estimate(KNOWN, Plan(2048, 1, 1), 100), estimate(KNOWN, Plan(2048, 1, 1), 100, cpu_factor=2.0)
    assert slow.seconds["chunks"] == pytest.approx(2 * same.seconds["chunks"])
    assert slow.seconds["worker start (first chunk per instance)"] == pytest.approx(6.0)
    assert slow.seconds["fan-out dispatch"] == same.seconds["fan-out dispatch"]


def test_instances_past_the_flex_maximum_are_refused() -> None:
    with pytest.raises(ValueError, match="1000"):
        estimate(KNOWN, Plan(2048, 1, 1), 1001)


def test_replay_cost_is_interpolated_on_log_log_axes() -> None:
    assert KNOWN.replay_once_s(100) == pytest.approx(0.1)
    assert KNOWN.replay_once_s(316) == pytest.approx(0.316)
    assert KNOWN.replay_once_s(5000) == pytest.approx(5.0)  # beyond the last point: the last slope


def test_host_json_polling_interval_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "host.json"
    durable = {"maxConcurrentActivityFunctions": 2, "storageProvider": {"maxQueuePollingInterval": "00:00:10"}}
    path.write_text(json.dumps({"extensions": {"durableTask": durable}}))
    assert host_settings(path) == {"max_concurrent_activities": 2, "partition_count": 4, "max_queue_polling_s": 10}
    path.write_text(json.dumps({"extensions": {"durableTask": {}}}))
    assert host_settings(path)["max_queue_polling_s"] == 30  # the documented default


def test_the_committed_measurements_give_the_readme_table() -> None:
    measured = load_measured()
    assert 1.0 < measured.chunk_cpu_s < 29.8 / 6  # a share of the evaluation's per-scene CPU over its 6 chunks
    table = markdown(measured, host_settings())
    assert "| 2048 MB (1 vCPU), 1 at once | 1,000 | 360 * | 1 |" in table
    assert "$9.00 per video-hour" in table
