"""Shared building blocks: result values, errors, clocks, durations, logging and metrics."""
