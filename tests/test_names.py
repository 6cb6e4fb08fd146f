"""Blob name rules shared by the trigger, the HTTP API and the upload command."""

from __future__ import annotations

import pytest

from videoanalysis.names import MAX_NAME_LENGTH, has_video_extension, name_problem, video_name_problem
from videoanalysis.settings import DEFAULT_VIDEO_EXTENSIONS


@pytest.mark.parametrize(
    ("name", "extensions", "expected"),
    [
        ("a.mp4", DEFAULT_VIDEO_EXTENSIONS, True),
        ("clips/b.MOV", DEFAULT_VIDEO_EXTENSIONS, True),
        ("a.mp4", ("mp4",), True),
        ("a.mp4", (" .MP4 ",), True),
        ("a.mp4.json", DEFAULT_VIDEO_EXTENSIONS, False),
        (".mp4", DEFAULT_VIDEO_EXTENSIONS, False),
        ("mp4", DEFAULT_VIDEO_EXTENSIONS, False),
        ("a.mp4", (), False),
    ],
)
def test_video_extensions(name: str, extensions: tuple[str, ...], expected: bool) -> None:
    assert has_video_extension(name, extensions) is expected


@pytest.mark.parametrize("name", ["a.mp4", "clips/2026/cam 1.mp4", "ünï/ビデオ.mp4", "a..b.mp4", "x" * 1020 + ".mp4"])
def test_plain_names_pass(name: str) -> None:
    assert video_name_problem(name, DEFAULT_VIDEO_EXTENSIONS) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/a.mp4",
        "a.mp4/",
        "a//b.mp4",
        "./a.mp4",
        "../a.mp4",
        "a/../b.mp4",
        "a\\b.mp4",
        "a\tb.mp4",
        "a\x7f.mp4",
        "a\u200e.mp4",
        "x" * (MAX_NAME_LENGTH + 1),
    ],
)
def test_names_with_path_tricks_fail(name: str) -> None:
    assert name_problem(name) is not None
