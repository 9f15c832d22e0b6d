"""Start-up checks of a fetching process (crawler, worker): refuse to run misconfigured.

A crawler of the public web must tell site owners who runs it: ``CONTACT_URL`` (an ``https://``
page or a ``mailto:`` address) goes into every User-Agent. Empty or a placeholder
(``example.com``, the project's own repository) is refused with a clear error, unless every
source host is allow-listed as private (``ALLOWED_PRIVATE_HOSTS``: a fixture site, an intranet),
where nobody outside is contacted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

from shared.settings import Settings
from shared.sources import Source, SourcesError, load_sources

PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "example.invalid", "localhost")
PLACEHOLDER_URLS = ("https://github.com/newsflow/newsflow",)


class ConfigurationError(RuntimeError):
    """The process cannot start with these settings; the message says what to change."""


def contact_problem(contact_url: str) -> str | None:
    """Why ``contact_url`` is not a usable contact, or None when it is."""
    value = contact_url.strip()
    if not value:
        return "CONTACT_URL is empty"
    if value.rstrip("/") in PLACEHOLDER_URLS:
        return f"CONTACT_URL={value} is the project's placeholder, not yours"
    parts = urlsplit(value)
    if parts.scheme == "mailto":
        host = value.rpartition("@")[2].lower()
    elif parts.scheme in ("http", "https") and parts.hostname:
        host = parts.hostname.lower()
    else:
        return f"CONTACT_URL={value} is neither an http(s) URL nor a mailto: address"
    if any(host == p or host.endswith("." + p) for p in PLACEHOLDER_HOSTS):
        return f"CONTACT_URL={value} is a placeholder host"
    return None


def _private_allowed(host: str, allow: Iterable[str]) -> bool:
    allow = tuple(allow)
    if host in allow:
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    for entry in allow:
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def public_hosts(hosts: Iterable[str], settings: Settings) -> list[str]:
    """The hosts that are not allow-listed private ones: a crawl of these is a public crawl."""
    return sorted(h for h in hosts if not _private_allowed(h, settings.allowed_private_hosts))


def check_contact(settings: Settings, hosts: Iterable[str]) -> None:
    problem = contact_problem(settings.contact_url)
    if problem is None:
        return
    public = public_hosts(hosts, settings)
    if public:
        shown = ", ".join(public[:5]) + (" ..." if len(public) > 5 else "")
        raise ConfigurationError(
            f"{problem}. newsflow crawls public sites ({shown}) and must tell their owners who "
            "runs it: set CONTACT_URL to your https:// page or mailto: address (it is sent in the "
            "User-Agent), or allow-list every source host in ALLOWED_PRIVATE_HOSTS for a private crawl."
        )


def check_fetching_process(settings: Settings) -> None:
    """Run at start-up by the crawler and worker processes (see shared/celery_app.py)."""
    try:
        sources = load_sources(settings.sources_file)
    except SourcesError as exc:
        raise ConfigurationError(f"SOURCES_FILE: {exc}") from exc
    check_contact(settings, {host for source in sources.values() for host in fetched_hosts(source)})


def fetched_hosts(source: Source) -> set[str]:
    """Host names (no ports) a source's polls fetch from."""
    urls = (source.home_url, *source.feeds, *source.sitemaps, *source.sections)
    return {(urlsplit(urljoin(source.home_url, url)).hostname or "").lower() for url in urls} - {""}
