"""The sources YAML file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.sources import SourcesCache, SourcesError, load_sources, parse_sources

REPO = Path(__file__).resolve().parent.parent.parent


def test_default_sources_file_loads_real_outlets_without_placeholders() -> None:
    sources = load_sources(REPO / "deploy" / "sources.yaml")
    assert len(sources) >= 5 and sources["orda-en"].needs_discovery
    assert sources["tengrinews"].feeds == ("https://tengrinews.kz/news.rss",)
    for source in sources.values():
        assert source.home_url.startswith("https://"), source.id
        assert "example" not in source.home_url and "localhost" not in source.home_url, source.id


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


def _write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_cache_parses_once_and_again_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    _write(path, "- id: a\n  home_url: https://ex.com/\n", 1_000_000_000)
    cache = SourcesCache(path)
    first = cache.get()
    assert list(first) == ["a"] and cache.generation == 1
    assert cache.get() is first  # unchanged file: no second parse
    _write(
        path, "- id: a\n  home_url: https://ex.com/\n- id: b\n  home_url: https://ex.org/\n", 2_000_000_000
    )
    assert sorted(cache.get()) == ["a", "b"] and cache.generation == 2


def test_cache_keeps_the_last_good_sources_when_an_edit_breaks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    cache = SourcesCache(path)
    with pytest.raises(SourcesError):  # no file and nothing loaded yet
        cache.get()
    _write(path, "- id: a\n  home_url: https://ex.com/\n", 1_000_000_000)
    good = cache.get()
    _write(path, "- id: a\n  home_url: ftp://nope/\n", 2_000_000_000)
    assert cache.get() is good and cache.generation == 1
    path.unlink()
    assert cache.get() is good


def test_duplicate_check_is_linear() -> None:
    # 20,000 sources validate in well under the quadratic check's time; here only correctness
    # is asserted (timing belongs to scripts/bench_sources.py).
    text = "".join(f"- id: s{i}\n  home_url: https://h{i}.example/\n" for i in range(2000))
    assert len(parse_sources(text)) == 2000
    with pytest.raises(ValidationError, match="s7"):
        parse_sources(text + "- id: s7\n  home_url: https://x.example/\n")
