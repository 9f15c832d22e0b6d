"""The sources file: a YAML list of news sites, loaded into typed, validated models."""

from __future__ import annotations

from pathlib import Path

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
        ids = [s.id for s in self.sources]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate source ids: {sorted(dupes)}")
        return self


def source_hosts(source: Source) -> set[str]:
    """Every host (politeness key) a source's polls fetch from."""
    urls = (source.home_url, *source.feeds, *source.sitemaps, *source.sections)
    return {url_host(u) for u in urls}


def parse_sources(text: str) -> dict[str, Source]:
    """Parse the YAML text (a mapping with ``sources:`` or a bare list)."""
    data = yaml.safe_load(text) or []
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
