"""The sources YAML file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.sources import load_sources, parse_sources

REPO = Path(__file__).resolve().parent.parent.parent


def test_example_sources_file_loads() -> None:
    sources = load_sources(REPO / "deploy" / "sources.yaml")
    assert sources
    wire = sources["example-wire"]
    assert wire.feeds == ("https://wire.example.com/rss/latest.xml",)
    assert wire.rate_per_second == 2
    assert sources["orda-en"].needs_discovery


def test_relative_urls_resolve_against_home() -> None:
    s = parse_sources("- id: a\n  home_url: HTTPS://Ex.com/en/\n  sections: [news/, /politics/]\n")["a"]
    assert s.home_url == "https://ex.com/en/"
    assert s.sections == ("https://ex.com/en/news/", "https://ex.com/politics/")
    assert not s.needs_discovery


@pytest.mark.parametrize(
    "text",
    [
        "- id: a\n  home_url: ftp://ex.com/\n",
        "- id: Bad Id\n  home_url: https://ex.com/\n",
        "- id: a\n  home_url: https://ex.com/\n  unknown: 1\n",
        "- id: a\n  home_url: https://ex.com/\n- id: a\n  home_url: https://ex.org/\n",
        "- id: a\n  home_url: https://ex.com/\n  min_poll_seconds: 600\n  max_poll_seconds: 60\n",
        "- id: a\n  home_url: https://ex.com/\n  rate_per_second: 0\n",
    ],
)
def test_invalid_sources_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_sources(text)
