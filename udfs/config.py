"""Run configuration: layered YAML files → validated, frozen dataclasses, checked before Spark starts.

A conf file may name a parent with ``extends: defaults.yaml`` and pull section files in with
``include: [quality.yaml, ...]`` (paths relative to the file). Layers merge key by key; ``--set key.sub=value``
overrides come last, their values parsed as YAML (``--set dedup.threshold=0.8``). Every section is validated by its
own dataclass; an unknown or ill-typed key raises :class:`~udfs.errors.ConfigError` naming the dotted key.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import os
import re
import types
import typing
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from udfs.errors import ConfigError
from udfs.secrets import MASK, Redactor, conf_secrets, is_secret_key, redact_text

STAGES: tuple[str, ...] = ("ingest", "normalize", "langid", "quality", "dedup", "pii", "tokens", "report")

# ---------------------------------------------------------------------------------------------------------------
# Generic dataclass validation
# ---------------------------------------------------------------------------------------------------------------


def _type_name(kind: Any) -> str:
    return getattr(kind, "__name__", str(kind))


def _shown(value: Any, key: str) -> str:
    """``value`` as an error message shows it: never the value of a credential-like key."""
    return f"a {type(value).__name__} (hidden: {key} holds a credential)" if is_secret_key(key) else repr(value)


def _coerce(value: Any, kind: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {_shown(value, key)}")
    if kind is Any:
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {_shown(value, key)}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return _in_range(value, key)
        raise ConfigError(f"{key}: expected an integer, got {_shown(value, key)}")
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _in_range(float(value), key)
        raise ConfigError(f"{key}: expected a number, got {_shown(value, key)}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {_shown(value, key)}")
    if origin in (list, tuple, Sequence):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {_shown(value, key)}")
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping, got {_shown(value, key)}")
        value_kind = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, value_kind, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(kind):
        return dataclass_from_dict(kind, value, key)
    raise ConfigError(f"{key}: unsupported type {_type_name(kind)}")


def _in_range(value: float, key: str) -> Any:
    """The floor every numeric setting shares: counts, sizes, seconds, scores, thresholds and seeds are never
    negative (a negative backoff made every file fail after one attempt) nor NaN. Tighter ranges (> 0, <= 1) are
    each section's ``validate``."""
    if value != value or value < 0:  # NaN compares unequal to itself
        raise ConfigError(f"{key}: must be a number >= 0, got {value}")
    return value


def dataclass_from_dict(cls: type[Any], data: Any, path: str) -> Any:
    """Build the frozen dataclass ``cls`` from ``data``; unknown keys and wrong types raise ConfigError."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")
    values = {name: _coerce(data[name], hints[name], f"{path}.{name}") for name in data}
    instance = cls(**values)
    check = getattr(instance, "validate", None)
    if check is not None:
        check(path)
    return instance


def _positive(value: float, key: str) -> None:
    if value <= 0:
        raise ConfigError(f"{key}: must be > 0, got {value}")


def _validate_retries(section: Any, path: str) -> None:
    """What the S3 and HTTP readers share: attempts, the backoff cap and both timeouts must be > 0 (that
    ``backoff_base_seconds`` is >= 0 is the floor of every number, see :func:`_in_range`)."""
    for name in ("max_attempts", "backoff_max_seconds", "connect_timeout_seconds", "read_timeout_seconds"):
        _positive(getattr(section, name), f"{path}.{name}")


# ---------------------------------------------------------------------------------------------------------------
# Sections owned by the foundation (run, input, s3, ingest, spark, output)
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    name: str = "cc-refinery"
    """Run name, shown in the manifest and the report."""
    stages: tuple[str, ...] = STAGES
    """Stages to run, a subset of the fixed order; ``--stages`` overrides it."""
    fail_on_failed_inputs: bool = True
    """Exit non-zero when an input file could not be read completely (it is listed in the manifest either way)."""
    files_per_shard: int = 64
    """Input files per shard. A shard is read, filtered and committed as one unit (one Spark task per file), so a
    killed run loses at most the shards in flight; 64 CC WET files are ~10 GB of text."""
    concurrent_shards: int = 2
    """Shards submitted to Spark at once (from driver threads), so a small shard never leaves cores idle."""
    progress_seconds: float = 30.0
    """Seconds between two plain progress lines when stdout is not a terminal."""

    def validate(self, path: str) -> None:
        _positive(self.files_per_shard, f"{path}.files_per_shard")
        _positive(self.concurrent_shards, f"{path}.concurrent_shards")
        _positive(self.progress_seconds, f"{path}.progress_seconds")
        for stage in self.stages:
            if stage not in STAGES:
                raise ConfigError(f"{path}.stages: unknown stage {stage!r} (stages: {', '.join(STAGES)})")


@dataclass(frozen=True)
class InputConfig:
    paths: tuple[str, ...] = ()
    """Default inputs when ``--input`` is not given: paths, globs, ``s3://`` and ``http(s)://`` URLs, any Hadoop
    filesystem URL (``gs://``, ``hdfs://``, ``abfs://``, ``s3a://``, ``file://``), ``*.paths.gz`` manifests."""
    manifest_base: str = "s3://commoncrawl/"
    """Prefix for the relative paths listed in a CC ``wet.paths.gz`` manifest: ``s3://commoncrawl/`` inside AWS,
    ``https://data.commoncrawl.org/`` anywhere else (the bucket needs AWS credentials through the S3 API)."""
    format: str = "wet"
    """``wet`` for WARC/WET files; ``parquet`` to start from documents written by an earlier run."""

    def validate(self, path: str) -> None:
        if self.format not in ("wet", "parquet"):
            raise ConfigError(f"{path}.format: expected 'wet' or 'parquet', got {self.format!r}")
        if not self.manifest_base.strip():
            raise ConfigError(f"{path}.manifest_base: must not be empty (e.g. https://data.commoncrawl.org/)")


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str | None = None
    """Custom S3 endpoint (MinIO/SeaweedFS/VPC); credentials always come from the standard AWS chain."""
    region: str | None = None
    anonymous: bool = False
    """Unsigned requests, for public buckets read from outside AWS."""
    max_attempts: int = 8
    """GET attempts per object (first included) for transient errors before the file is reported failed."""
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 60.0

    def validate(self, path: str) -> None:
        _validate_retries(self, path)


@dataclass(frozen=True)
class HttpConfig:
    max_attempts: int = 8
    """GET attempts per URL (first included) for 429, 5xx and broken connections before the file is reported failed."""
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    """Cap of one wait, also of a server's ``Retry-After`` (which is otherwise honoured as the shortest wait)."""
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 60.0
    user_agent: str = "cc-refinery"
    """Sent with every request, so the operators of a server (Common Crawl's, say) can tell who is reading."""

    def validate(self, path: str) -> None:
        _validate_retries(self, path)
        if not self.user_agent.strip():
            raise ConfigError(f"{path}.user_agent: must not be empty")


@dataclass(frozen=True)
class IngestConfig:
    batch_size: int = 1000
    """Documents per Arrow batch handed to Spark; lower it for very long documents."""
    max_record_bytes: int = 64 * 1024 * 1024
    """Bodies above this are rejected as ``ingest:record_too_large`` (their first bytes kept) to protect memory."""
    max_invalid_utf8_ratio: float = 0.01
    """Share of undecodable characters above which a record is rejected as ``ingest:invalid_utf8``."""
    max_broadcast_duplicates: int = 1_000_000
    """Repeated ``WARC-Record-ID`` copies up to this many are marked with a broadcast join (no text shuffle)."""
    min_task_bytes: int = 1024 * 1024
    """Streamed files get a read task each, except that small local files share tasks of about this many
    (compressed) bytes once a shard has more files than 4 tasks per core. A file whose size the driver does not
    see (``s3://``, ``https://``) counts as this big."""

    def validate(self, path: str) -> None:
        _positive(self.batch_size, f"{path}.batch_size")
        _positive(self.max_record_bytes, f"{path}.max_record_bytes")
        _positive(self.min_task_bytes, f"{path}.min_task_bytes")
        if not 0 <= self.max_invalid_utf8_ratio <= 1:
            raise ConfigError(f"{path}.max_invalid_utf8_ratio: must be within [0, 1]")


@dataclass(frozen=True)
class SparkConfig:
    master: str | None = None
    """Used only when not launched by spark-submit (which always wins), e.g. ``local[*]`` for laptop runs."""
    app_name: str = "cc-refinery"
    conf: dict[str, Any] = field(default_factory=dict)
    """Extra Spark settings (scalars, passed as strings); a value given to spark-submit ``--conf`` wins."""
    checkpoint_dir: str | None = None
    """Where dedup's connected components checkpoint; default ``<output>/_tmp``, deleted when the run ends."""
    class_archive_dir: str | None = None
    """Local runs only: a folder for the driver JVM's class-data-sharing archive (``auto``: the user's cache
    folder), dumped by the first run and mapped by later ones to cut the JVM's start-up and class-loading CPU
    (``jobs/jvm_archive.py``); ~200 MB per Java/Spark/JVM-options combination. Null: off."""

    def validate(self, path: str) -> None:
        for key, value in self.conf.items():
            if isinstance(value, (dict, list)) or value is None:
                raise ConfigError(f"{path}.conf.{key}: expected a scalar value, got {_shown(_redact(value), key)}")

    def settings(self) -> dict[str, str]:
        """Spark settings as strings (Spark wants "true", not True)."""
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.conf.items()}


OUTPUT_MODES = ("error", "overwrite", "resume")


@dataclass(frozen=True)
class OutputConfig:
    mode: str = "error"
    """``error`` refuses to write into a non-empty output folder; ``overwrite`` replaces it; ``resume`` carries on
    with the committed shards and phases of an earlier run of the same inputs and conf (refused if either changed)."""
    compression: str = "zstd"
    documents_partition_by: tuple[str, ...] = ("lang",)
    rejected_partition_by: tuple[str, ...] = ("stage",)
    rejected_text: bool = True
    """Keep the text of rejected documents (for audits); false writes ``rejected/`` without it."""
    manifest_max_inputs: int = 1000
    """``_manifest.json`` lists each input file up to this many (all of them are in ``stats/files.parquet``)."""
    lock_stale_seconds: float = 600.0
    """A lock whose owner has not refreshed it for this long is taken over (a run killed on another host). A lock of
    this host whose process is gone is stale at once."""

    def validate(self, path: str) -> None:
        if self.mode not in OUTPUT_MODES:
            raise ConfigError(f"{path}.mode: expected one of {', '.join(OUTPUT_MODES)}, got {self.mode!r}")
        if self.manifest_max_inputs < 0:
            raise ConfigError(f"{path}.manifest_max_inputs: must be >= 0, got {self.manifest_max_inputs}")
        _positive(self.lock_stale_seconds, f"{path}.lock_stale_seconds")


# Section name → "module:Class" whose ``from_dict(data, path)`` validates it. Sections owned by a stage live
# beside that stage's logic in udfs/ and are imported only when validating.
SECTIONS: dict[str, Any] = {
    "run": RunConfig,
    "input": InputConfig,
    "s3": S3Config,
    "http": HttpConfig,
    "ingest": IngestConfig,
    "spark": SparkConfig,
    "output": OutputConfig,
    "normalize": "udfs.normalize:NormalizeConfig",
    "langid": "udfs.langid:LangIdConfig",
    "quality": "udfs.quality.config:QualityConfig",
    "perplexity": "udfs.perplexity:PerplexityConfig",
    "quality_classifier": "udfs.quality_classifier:QualityClassifierConfig",
    "dedup": "udfs.dedup.config:DedupConfig",
    "pii": "udfs.pii:PiiConfig",
    "tokens": "udfs.tokens:TokensConfig",
    "categories": "udfs.categories:CategoriesConfig",
    "report": "udfs.report:ReportConfig",
}


def _section_class(spec: Any) -> Any:
    if isinstance(spec, str):
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)
    return spec


def _build_section(name: str, data: Any) -> Any:
    cls = _section_class(SECTIONS[name])
    from_dict = getattr(cls, "from_dict", None)
    if from_dict is not None:
        return from_dict(data or {}, name)
    return dataclass_from_dict(cls, data, name)


# ---------------------------------------------------------------------------------------------------------------
# Loading and merging
# ---------------------------------------------------------------------------------------------------------------


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# The project's conf/ folder; inside the code zip of ``spark-submit --py-files`` this is "<archive>.zip/conf".
PACKAGED_CONF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf")


def read_conf_file(path: str) -> str | None:
    """Text of a conf file on disk or inside a zip on ``sys.path`` ("<archive>.zip/conf/x.yaml"), else None.

    A conf shipped alone with ``--files`` still finds the files it ``extends``/``include``s in the code zip.
    """
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    archive, marker, inner = path.partition(".zip" + os.sep)
    if marker and zipfile.is_zipfile(archive + ".zip"):
        with zipfile.ZipFile(archive + ".zip") as bundle:
            try:
                return bundle.read(inner.replace(os.sep, "/")).decode("utf-8")
            except KeyError:
                return None
    return None


def _conf_path(folder: str, name: str) -> str:
    """``name`` next to the including file, else in the project's (possibly zipped) conf/ folder."""
    beside = os.path.join(folder, name)
    if read_conf_file(beside) is None and read_conf_file(os.path.join(PACKAGED_CONF_DIR, name)) is not None:
        return os.path.join(PACKAGED_CONF_DIR, name)
    return beside


def load_yaml_layers(path: str, _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read ``path`` with its ``extends`` parent and ``include`` files merged in (parent < includes < file)."""
    path = os.path.abspath(path)
    if path in _seen:
        raise ConfigError(f"{path}: circular extends/include")
    text = read_conf_file(path)
    if text is None:
        raise ConfigError(f"conf file not found: {path}")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping")
    folder = os.path.dirname(path)
    merged: dict[str, Any] = {}
    parent = data.pop("extends", None)
    if parent:
        merged = load_yaml_layers(_conf_path(folder, parent), (*_seen, path))
    includes = data.pop("include", None) or []
    if not isinstance(includes, list):
        raise ConfigError(f"{path}: include must be a list of file names")
    for name in includes:
        merged = deep_merge(merged, load_yaml_layers(_conf_path(folder, name), (*_seen, path)))
    return deep_merge(merged, data)


# Sections whose keys are free-form names that contain dots themselves (Spark and Hadoop settings).
_FLAT_MAPPINGS = (("spark", "conf"),)
_KEY_SEGMENT = re.compile(r'"([^"]*)"|([^."]+)')


def split_override_key(key: str) -> list[str]:
    """``a.b.c`` → ``[a, b, c]``; a double-quoted segment keeps its dots (``spark.conf."fs.s3a.endpoint"``), and
    everything after ``spark.conf.`` is one Spark setting (``spark.conf.spark.hadoop.fs.s3a.endpoint``)."""
    parts: list[str] = []
    position = 0
    while position < len(key):
        match = _KEY_SEGMENT.match(key, position)
        if key[position] == ".":
            raise ConfigError(f"--set {key}=…: empty key segment")
        if not match:
            raise ConfigError(f"--set {key}=…: cannot read the key at {key[position:]!r} (quote a dotted segment: "
                              f'spark.conf."fs.s3a.endpoint"=…)')
        quoted, plain = match.groups()
        segment = quoted if quoted is not None else plain
        if not segment:
            raise ConfigError(f"--set {key}=…: empty key segment")
        parts.append(segment)
        position = match.end()
        if tuple(parts) in _FLAT_MAPPINGS and position < len(key) and key[position] == ".":
            rest = key[position + 1 :]
            parts.append(rest[1:-1] if len(rest) > 1 and rest.startswith('"') and rest.endswith('"') else rest)
            break
        if position < len(key):
            if key[position] != ".":
                raise ConfigError(f"--set {key}=…: expected a dot after {segment!r}")
            position += 1
            if position == len(key):
                raise ConfigError(f"--set {key}=…: empty key segment")
    if not all(parts):  # "spark.conf." or spark.conf."": the Spark key itself is empty
        raise ConfigError(f"--set {key}=…: empty key segment")
    return parts


def parse_override(assignment: str) -> dict[str, Any]:
    """``a.b.c=value`` → ``{"a": {"b": {"c": value}}}`` with ``value`` parsed as YAML (see
    :func:`split_override_key` for dotted keys). Errors name the key, never the value (it may be a credential)."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        shown = key if sep else "(hidden)" if is_secret_key(assignment) else assignment[:40]
        raise ConfigError(f"--set {shown}: expected key.sub=value")
    parts = split_override_key(key)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        detail = "(hidden: the key names a credential)" if is_secret_key(key) else str(exc)
        raise ConfigError(f"{key}: --set value is not valid YAML: {detail}") from None
    nested: dict[str, Any] = {}
    cursor = nested
    for part in parts[:-1]:
        cursor = cursor.setdefault(part, {})
    cursor[parts[-1]] = value
    return nested


@dataclass(frozen=True)
class PipelineConfig:
    """The merged configuration of a run: the raw mapping (for the manifest) and one validated object per section."""

    raw: dict[str, Any]
    sections: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    def section(self, name: str) -> Any:
        return self.sections[name]

    def redacted(self) -> dict[str, Any]:
        """The raw conf for the manifest: values of credential-like keys masked, and those values (and URL
        userinfo) also masked wherever else in the conf they were copied."""
        return Redactor(conf_secrets(self.raw)).scrub(_redact(self.raw))


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (MASK if is_secret_key(str(k)) and v is not None and not isinstance(v, (dict, list))
                    else _redact(v)) for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def build_config(raw: Mapping[str, Any]) -> PipelineConfig:
    """Validate a merged mapping section by section."""
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section (known: {', '.join(sorted(SECTIONS))})")
    sections = {name: _build_section(name, raw.get(name)) for name in SECTIONS}
    return PipelineConfig(raw=dict(raw), sections=sections)


def load_config(path: str, overrides: Sequence[str] = ()) -> PipelineConfig:
    """Load ``path`` (with its parents and includes), apply ``--set`` overrides, validate everything."""
    raw = load_yaml_layers(path)
    for assignment in overrides:
        raw = deep_merge(raw, parse_override(assignment))
    return build_config(raw)
