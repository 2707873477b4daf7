"""The docs' code samples as data (doc_samples.yaml beside this file): loaded
once, filled in for one instance (its address, a model it serves), rendered by
the docs pages and executed by the test suite exactly as rendered."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from lumyx.catalog.filters import has_capability, is_available
from lumyx.catalog.snapshot import Catalog, ModelInfo

SAMPLES_FILE = Path(__file__).with_name("doc_samples.yaml")
KEY_PLACEHOLDER = "lx-your-api-key"
LANGUAGE_LABELS = {"bash": "Shell", "python": "Python", "javascript": "Node.js", "json": "JSON", "text": "Settings"}
RUNNERS = ("bash", "python", "node", "litellm", "env", "dotenv", "continue", "settings", "codex", "agents")


@dataclass(frozen=True)
class Sample:
    id: str
    lang: str
    code: str
    run: str
    model: str | None = None  # the model the sample prefers
    needs: tuple[str, ...] = ()  # capabilities the model must have
    expect: tuple[str, ...] = ()  # regexes the test looks for in the output
    launch: str | None = None  # the line that starts an interactive tool (not run by the docs test)
    check: str | None = None  # commands the test runs after an env sample
    plan: str = "enterprise"  # the plan of the account the test runs it with

    @property
    def label(self) -> str:
        return LANGUAGE_LABELS.get(self.lang, self.lang)


@dataclass(frozen=True)
class Filled:
    """A sample filled in for one instance: what a reader copies."""

    sample: Sample
    code: str
    model: str | None
    launch: str | None
    check: str | None

    @property
    def id(self) -> str:
        return self.sample.id


class SampleError(ValueError):
    """doc_samples.yaml is malformed; the message names the sample and field."""


def _parse(entries) -> dict[str, Sample]:
    if not isinstance(entries, list):
        raise SampleError("doc_samples.yaml: expected a list of samples")
    samples: dict[str, Sample] = {}
    for i, entry in enumerate(entries):
        where = f"samples[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise SampleError(f"{where}: needs an id")
        sid = entry["id"]
        if sid in samples:
            raise SampleError(f"{where}: duplicate id {sid!r}")
        if entry.get("run") not in RUNNERS:
            raise SampleError(f"{sid}.run: one of {', '.join(RUNNERS)}")
        if not isinstance(entry.get("code"), str) or not entry["code"].strip():
            raise SampleError(f"{sid}.code: must be text")
        samples[sid] = Sample(
            id=sid,
            lang=str(entry.get("lang", "text")),
            code=entry["code"].rstrip() + "\n",
            run=entry["run"],
            model=entry.get("model"),
            needs=tuple(entry.get("needs") or ()),
            expect=tuple(entry.get("expect") or ()),
            launch=entry.get("launch"),
            check=entry.get("check"),
            plan=entry.get("plan", "enterprise"),
        )
    return samples


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, Sample]:
    return _parse(yaml.safe_load(SAMPLES_FILE.read_text()))


def _suits(model: ModelInfo, needs: Iterable[str]) -> bool:
    needs = tuple(needs)
    if model.is_embedding and "embeddings" not in needs:
        return False
    return all(has_capability(model, need) for need in needs)


def pick_model(sample: Sample, catalog: Catalog) -> str | None:
    """The sample's own model when this instance serves it; else the first served
    model that has what the sample needs; else the first that has it at all."""
    if "{{MODEL}}" not in sample.code:
        return sample.model
    preferred = catalog.get(sample.model) if sample.model else None
    if preferred is not None and _suits(preferred, sample.needs) and is_available(preferred):
        return preferred.id
    suitable = [m for m in catalog.models.values() if _suits(m, sample.needs)]
    for model in suitable:
        if is_available(model):
            return model.id
    if preferred is not None:
        return preferred.id
    return suitable[0].id if suitable else sample.model


def _fill(text: str | None, origin: str, api_key: str, model: str | None) -> str | None:
    if text is None:
        return None
    return text.replace("{{ORIGIN}}", origin).replace("{{API_KEY}}", api_key).replace("{{MODEL}}", model or "MODEL")


def fill(
    sample: Sample, *, origin: str, catalog: Catalog, api_key: str = KEY_PLACEHOLDER, model: str | None = None
) -> Filled:
    """The sample for this instance; ``model`` names the model outright (a model's own page)."""
    origin = origin.rstrip("/")
    model = model or pick_model(sample, catalog)
    return Filled(
        sample,
        _fill(sample.code, origin, api_key, model),
        model,
        _fill(sample.launch, origin, api_key, model),
        _fill(sample.check, origin, api_key, model),
    )


class Renderer:
    """What the docs templates call: ``samples.get(id)`` for one filled sample."""

    def __init__(self, origin: str, catalog: Catalog, api_key: str = KEY_PLACEHOLDER):
        self.origin = origin.rstrip("/")
        self.catalog = catalog
        self.api_key = api_key
        self.used: list[str] = []

    def get(self, sample_id: str) -> Filled:
        sample = registry().get(sample_id)
        if sample is None:
            raise KeyError(f"no docs sample {sample_id!r} in {SAMPLES_FILE.name}")
        self.used.append(sample_id)
        return fill(sample, origin=self.origin, catalog=self.catalog, api_key=self.api_key)
