"""Synthetic street scenes with exact ground truth: the demo, tests, benchmarks and tools use them; the app does not."""
