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
    assert Settings.from_env(values) == Settings(model_path="models/demo-yolo26n.onnx")
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
