"""Settings: one name, one default, one place; parsed and validated once."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.conftest import ROOT
from videoanalysis.settings import CHOICES, Settings


def test_the_local_settings_example_holds_every_setting_at_its_default() -> None:
    """Every setting at its default, except the model: locally the bundled demo model, which exists."""
    values = json.loads((ROOT / "local.settings.json.example").read_text())["Values"]
    assert {field.name.upper() for field in dataclasses.fields(Settings)} <= set(values)
    assert Settings.from_env(values) == Settings(model_path="models/demo-yolo26n-int8.onnx")
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("False", False), ("1", True), ("0", False)])
def test_boolean_settings_parse(raw: str, value: bool) -> None:
    assert Settings.from_env({"END2END": raw}).end2end is value


def test_a_malformed_setting_names_itself() -> None:
    with pytest.raises(ValueError, match="END2END='yes please' is not a valid bool"):
        Settings.from_env({"END2END": "yes please"})


def test_only_trackers_that_need_no_download_are_accepted() -> None:
    assert Settings.from_env({"TRACKER": "bytetrack"}).tracker == "bytetrack"
    with pytest.raises(ValueError, match="TRACKER must be one of tracktrack, bytetrack"):
        Settings.from_env({"TRACKER": "deepocsort"})


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_every_choice_is_validated_and_case_insensitive(name: str) -> None:
    first = CHOICES[name][0]
    assert getattr(Settings.from_env({name.upper(): first.upper()}), name) == first
    with pytest.raises(ValueError, match=f"{name.upper()} must be one of"):
        Settings.from_env({name.upper(): "no-such-choice"})


def test_env_values_tell_a_chosen_setting_from_a_default() -> None:
    assert Settings.env_values({"CHUNK_SECONDS": "10", "SAMPLE_FPS": ""}) == {"chunk_seconds": 10.0}


def test_replace_keeps_what_it_is_given() -> None:
    """None is not silently dropped (it was, as a command-line convenience): it reaches validation and fails."""
    assert Settings().replace(chunk_seconds=4.0).chunk_seconds == 4.0
    with pytest.raises(TypeError):
        Settings().replace(chunk_seconds=None)


REGIONS_JSON = '{"lines": {"door": [[320, 0], [320, 360]]}, "zones": {"yard": [[0, 0], [100, 0], [100, 100]]}}'


def test_count_regions_are_validated_once_and_travel_as_plain_json() -> None:
    settings = Settings.from_env({"COUNT_REGIONS": REGIONS_JSON})
    assert [line.name for line in settings.count_regions.lines] == ["door"]
    wire = json.loads(json.dumps(settings.to_dict()))
    assert wire["count_regions"] == json.loads(REGIONS_JSON)
    assert Settings.from_dict(wire) == settings


def test_a_history_written_before_count_regions_replays_without_regions() -> None:
    older = {key: value for key, value in Settings().to_dict().items() if key != "count_regions"}
    assert Settings.from_dict(older) == Settings() and not Settings().count_regions.lines


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{", "COUNT_REGIONS: regions are not valid JSON"),
        ('{"lines": {"a": [[1, 2], [1, 2]]}}', "COUNT_REGIONS: line 'a' has zero length"),
        ('{"zones": {"z": [[0, 0], [1, 1]]}}', "COUNT_REGIONS: zone 'z' needs at least 3 points"),
    ],
)
def test_a_malformed_count_regions_says_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"COUNT_REGIONS": raw})
