"""CONTACT_URL is required for a crawl of the public web; a private crawl may do without."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.preflight import ConfigurationError, check_contact, check_fetching_process, contact_problem
from shared.settings import Settings


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "https://github.com/newsflow/newsflow",
        "https://example.com/bot",
        "mailto:ops@example.org",
        "ftp://ops.news.kz/",
        "newsflow bot",
    ],
)
def test_placeholder_or_empty_contact_is_a_problem(value: str) -> None:
    assert contact_problem(value)


@pytest.mark.parametrize("value", ["https://news-lab.kz/crawler", "mailto:crawler@news-lab.kz"])
def test_real_contact_is_fine(value: str) -> None:
    assert contact_problem(value) is None


def test_public_crawl_without_contact_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigurationError) as err:
        check_contact(Settings(), {"orda.kz", "tengrinews.kz"})
    message = str(err.value)
    assert "CONTACT_URL is empty" in message and "orda.kz" in message and "ALLOWED_PRIVATE_HOSTS" in message


def test_private_crawl_needs_no_contact() -> None:
    settings = Settings(allowed_private_hosts="127.0.0.1,fixture.local,10.0.0.0/8")
    check_contact(settings, {"127.0.0.1", "fixture.local", "10.2.3.4"})
    with pytest.raises(ConfigurationError):
        check_contact(settings, {"127.0.0.1", "orda.kz"})


def test_the_shipped_sources_need_a_contact(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        check_fetching_process(Settings())  # deploy/sources.yaml: real outlets
    check_fetching_process(Settings(contact_url="mailto:crawler@news-lab.kz"))
    fixture = tmp_path / "sources.yaml"
    fixture.write_text('sources:\n  - {id: demo, home_url: "http://127.0.0.1:8080/"}\n')
    check_fetching_process(Settings(sources_file=fixture, allowed_private_hosts="127.0.0.1"))


def test_a_broken_sources_file_is_a_configuration_error(tmp_path: Path) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources: [{home_url: 3}]\n")
    with pytest.raises(ConfigurationError, match="SOURCES_FILE"):
        check_fetching_process(Settings(sources_file=bad))
