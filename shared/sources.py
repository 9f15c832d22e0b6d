"""The sources file: a YAML list of news sites, loaded into typed, validated models.

At 10,000 sources a parse costs seconds, so a process keeps its sources in a
:class:`SourcesCache` and parses again only when the file's mtime or size changed. The
validation is linear in the number of sources.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import structlog
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.urls import normalize_url, url_host


class Source(BaseModel):
    """One site. With no feeds, sitemaps or sections, they are discovered from ``home_url``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,99}$")
    name: str = ""
    home_url: str
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    min_poll_seconds: float | None = Field(None, gt=0)
    max_poll_seconds: float | None = Field(None, gt=0)
    rate_per_second: float | None = Field(None, gt=0)
    discover: bool = True  # look for feeds/sitemaps on the home page when none are listed
    # Read archives: no MAX_ARTICLE_AGE_DAYS filter on links or child sitemaps. For a one-off
    # import of a site's history; live sources leave it off.
    backfill: bool = False

    @field_validator("home_url")
    @classmethod
    def _home(cls, value: str) -> str:
        url = normalize_url(value)
        if url is None:
            raise ValueError(f"not an http(s) URL: {value!r}")
        return url

    @model_validator(mode="after")
    def _resolve(self) -> Source:
        def resolve(urls: tuple[str, ...]) -> tuple[str, ...]:
            out = []
            for u in urls:
                n = normalize_url(u, self.home_url)
                if n is None:
                    raise ValueError(f"not an http(s) URL: {u!r}")
                out.append(n)
            return tuple(out)

        object.__setattr__(self, "feeds", resolve(self.feeds))
        object.__setattr__(self, "sitemaps", resolve(self.sitemaps))
        object.__setattr__(self, "sections", resolve(self.sections))
        if (
            self.min_poll_seconds is not None
            and self.max_poll_seconds is not None
            and self.min_poll_seconds > self.max_poll_seconds
        ):
            raise ValueError("min_poll_seconds > max_poll_seconds")
        return self

    @property
    def needs_discovery(self) -> bool:
        return self.discover and not (self.feeds or self.sitemaps or self.sections)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: list[Source]

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        counts = Counter(s.id for s in self.sources)
        dupes = {i for i, n in counts.items() if n > 1}
        if dupes:
            raise ValueError(f"duplicate source ids: {sorted(dupes)}")
        return self


log = structlog.get_logger(__name__)

# libyaml's loader when present: about ten times faster than the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def source_hosts(source: Source) -> set[str]:
    """Every host (politeness key) a source's polls fetch from."""
    urls = (source.home_url, *source.feeds, *source.sitemaps, *source.sections)
    return {url_host(u) for u in urls}


def parse_sources(text: str) -> dict[str, Source]:
    """Parse the YAML text (a mapping with ``sources:`` or a bare list)."""
    data = yaml.load(text, Loader=_LOADER) or []
    if isinstance(data, list):
        data = {"sources": data}
    return {s.id: s for s in SourcesFile.model_validate(data).sources}


class SourcesError(ValueError):
    """The sources file is missing, not YAML, or not a valid list of sources."""


def load_sources(path: Path) -> dict[str, Source]:
    try:
        return parse_sources(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError, ValueError) as exc:
        raise SourcesError(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class _Loaded:
    stamp: tuple[int, int]  # (mtime_ns, size)
    sources: dict[str, Source]


class SourcesCache:
    """The sources of one file, parsed once per process and again only when it changes.

    ``get()`` costs one ``stat`` while the file's (mtime, size) stay the same. A file that
    changed but no longer parses keeps the last good sources (``SourcesError`` only while
    there were none): a typo in a deploy must not stop every poll. ``changed`` tells the
    caller a new set arrived (e.g. to add new sources to the due set).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._loaded: _Loaded | None = None
        self._failed_stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        self.generation = 0  # bumped on every successful (re)load

    def _stamp(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise SourcesError(f"{self.path}: {exc}") from exc
        return (st.st_mtime_ns, st.st_size)

    def get(self) -> dict[str, Source]:
        with self._lock:
            try:
                stamp = self._stamp()
            except SourcesError:
                if self._loaded is not None:
                    return self._loaded.sources
                raise
            loaded = self._loaded
            if loaded is not None and loaded.stamp == stamp:
                return loaded.sources
            if loaded is not None and self._failed_stamp == stamp:
                return loaded.sources  # already tried this version and it was invalid
            try:
                sources = load_sources(self.path)
            except SourcesError as exc:
                self._failed_stamp = stamp
                if loaded is not None:
                    log.error(
                        "sources_invalid", path=str(self.path), error=str(exc)[:500], kept=len(loaded.sources)
                    )
                    return loaded.sources
                raise
            self._loaded = _Loaded(stamp, sources)
            self._failed_stamp = None
            self.generation += 1
            return sources
