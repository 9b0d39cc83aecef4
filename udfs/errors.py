"""Errors raised by cc-refinery before or while a job runs."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing, unknown or invalid.

    The message always starts with the dotted key, e.g. ``quality.gopher.min_words: expected an integer``,
    so a user can find the line to fix. Raised on the driver before Spark starts.
    """


class InputError(ValueError):
    """An input path, glob, manifest or S3 location cannot be used (missing, unreachable, empty)."""
