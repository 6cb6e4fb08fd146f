"""The `upload` command against Azurite: the blob lands where the trigger looks, and the printed id is the one the
app gives the analysis of that upload."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from runner import upload
from videoanalysis.contracts import BlobRef
from videoanalysis.names import instance_id


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    upload.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def test_upload_puts_the_video_in_the_container_and_prints_the_analysis_id(
    container, azurite_connection_string: str, tmp_path: Path, capsys
) -> None:
    video = tmp_path / "cam 1.mp4"
    video.write_bytes(b"video bytes")
    argv = ["upload", str(video), "--name", "clips/cam 1.mp4", "--container", container.container_name]
    assert _run([*argv, "--connection-string", azurite_connection_string]) == 0
    blob = container.get_blob_client("clips/cam 1.mp4")
    properties = blob.get_blob_properties()
    assert blob.download_blob().readall() == b"video bytes"
    assert properties.content_settings.content_type == "video/mp4"
    expected = instance_id(BlobRef(container.container_name, "clips/cam 1.mp4"), str(properties.etag).strip('"'))
    assert f"analysis id: {expected}" in capsys.readouterr().out


def test_upload_refuses_a_name_the_trigger_would_ignore(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    with pytest.raises(ValueError, match="video extension"):
        _run(["upload", str(notes), "--connection-string", "UseDevelopmentStorage=true"])
