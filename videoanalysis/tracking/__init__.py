"""Tracking: from the chunks' stored detections to the video's objects.

- `tracker`: what a tracker reports per frame, and `new_tracker`;
- `adapter`: Ultralytics' trackers behind that interface, the only module touching their internals;
- `camera_motion`: the camera's motion between analysed frames, measured by the chunks;
- `gaps`: finding an object again after it was out of sight;
- `objects`: a track's segments joined into objects, linked across gaps, counted or not;
- `video_pass`: the fan-in's tracking pass, one tracker over the whole video.

Modules whose names start with `_` are the package's own: nothing outside it imports them (tests/test_layout.py).
"""
