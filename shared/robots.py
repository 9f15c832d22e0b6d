"""robots.txt (RFC 9309) as pure functions: parse, pick our group, match a path.

* Groups: consecutive ``User-agent`` lines share the rules that follow. Our group is the
  one naming our product token, compared case-insensitively as a whole token (the leading
  run of letters, ``_`` and ``-`` of the line: ``newsflow/1.0`` names ``newsflow``, but
  ``newsflowbot`` or ``news`` do not), else ``*``, else everything is allowed.
* Only the first :data:`MAX_ROBOTS_BYTES` (500 KiB) are parsed; a larger file is cut there,
  not ignored (RFC 9309 section 2.5).
* Matching: the longest matching pattern wins; on a tie ``Allow`` wins. ``*`` matches any
  run of characters and a trailing ``$`` anchors the end.
* ``Crawl-delay`` (not in the RFC, widely used) and ``Sitemap`` lines are kept too.
* ``noindex`` in a page's meta robots tag (``name="robots"`` or our token) or in its
  ``X-Robots-Tag`` header (bare, or prefixed with our token) means the page is not indexed
  (:func:`page_noindex`); links on it may still be followed.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

MAX_ROBOTS_BYTES = 500 * 1024  # RFC 9309: parse at least the first 500 KiB
MAX_CRAWL_DELAY = 60.0


@dataclass(frozen=True)
class Group:
    agents: tuple[str, ...]
    rules: tuple[tuple[bool, str], ...]  # (allow, pattern)
    crawl_delay: float | None = None


@dataclass(frozen=True)
class Robots:
    groups: tuple[Group, ...] = ()
    sitemaps: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def allow_all(cls) -> Robots:
        return cls()


def parse_robots(text: str) -> Robots:
    groups: list[Group] = []
    sitemaps: list[str] = []
    agents: list[str] = []
    rules: list[tuple[bool, str]] = []
    delay: float | None = None
    in_rules = False

    def close() -> None:
        if agents:
            groups.append(Group(tuple(agents), tuple(rules), delay))

    for raw in text[:MAX_ROBOTS_BYTES].splitlines():
        line = raw.split("#", 1)[0].strip()
        if ":" not in line:
            continue
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:
                close()
                agents, rules, delay, in_rules = [], [], None, False
            agents.append(_product_token(value))
        elif key in ("allow", "disallow"):
            in_rules = True
            if agents and (value or key == "allow"):
                rules.append((key == "allow", _normalise_pattern(value)))
        elif key == "crawl-delay":
            in_rules = True
            with contextlib.suppress(ValueError):
                delay = min(max(float(value), 0.0), MAX_CRAWL_DELAY)
        elif key == "sitemap" and value:
            sitemaps.append(value)
    close()
    return Robots(tuple(groups), tuple(sitemaps))


_TOKEN = re.compile(r"[a-z_-]+")


def _product_token(value: str) -> str:
    """The product token a User-agent line names: ``*``, or its leading run of letters,
    ``_`` and ``-``, lower-cased (``Googlebot/2.1`` -> ``googlebot``)."""
    value = value.strip().lower()
    if value.startswith("*"):
        return "*"
    match = _TOKEN.match(value)
    return match.group(0) if match else ""


def _normalise_pattern(pattern: str) -> str:
    # Compare percent-encoded forms on both sides (RFC 9309 section 2.2.2).
    return quote(unquote(pattern), safe="/*$?=&;:@+,!~'()%")


def _group_for(robots: Robots, agent: str) -> Group | None:
    agent = agent.lower()
    star: list[Group] = []
    mine: list[Group] = []
    for g in robots.groups:
        if any(a != "*" and a == agent for a in g.agents):
            mine.append(g)
        elif "*" in g.agents:
            star.append(g)
    chosen = mine or star
    if not chosen:
        return None
    # Several groups for the same agent are merged (RFC 9309 section 2.2.1).
    rules = tuple(r for g in chosen for r in g.rules)
    delays = [g.crawl_delay for g in chosen if g.crawl_delay is not None]
    return Group(chosen[0].agents, rules, max(delays) if delays else None)


def _matches(pattern: str, path: str) -> bool:
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.match(regex + ("$" if anchored else ""), path) is not None


def is_allowed(robots: Robots, agent: str, url: str) -> bool:
    parts = urlsplit(url)
    path = _normalise_pattern(parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if path == "/robots.txt":
        return True
    group = _group_for(robots, agent)
    if group is None:
        return True
    best: tuple[int, bool] | None = None
    for allow, pattern in group.rules:
        if pattern and _matches(pattern, path):
            candidate = (len(pattern), allow)
            if best is None or candidate > best:  # longer wins; on a tie Allow (True) wins
                best = candidate
    return True if best is None else best[1]


def crawl_delay(robots: Robots, agent: str) -> float | None:
    group = _group_for(robots, agent)
    return group.crawl_delay if group else None


# Meta tags sit in the head: scanning the first bytes is enough and bounds the cost.
_HEAD_BYTES = 64 * 1024
_META = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _directives_say_noindex(directives: str) -> bool:
    words = {w.strip().lower() for w in directives.split(",")}
    return "noindex" in words or "none" in words


def _header_noindex(value: str, agent: str) -> bool:
    # "noindex", "noindex, nofollow", "newsflow: noindex", "otherbot: noindex" (not ours).
    # Several headers arrive joined with ", "; an agent prefix applies to what follows it.
    target: str | None = None
    for part in value.split(","):
        part = part.strip()
        head, sep, rest = part.partition(":")
        if (
            sep
            and _TOKEN.fullmatch(head.strip().lower())
            and head.strip().lower() not in ("unavailable_after",)
        ):
            target, part = head.strip().lower(), rest
        if (target is None or target == agent) and _directives_say_noindex(part):
            return True
    return False


def page_noindex(body: bytes, x_robots_tag: str | None, agent: str) -> bool:
    """True if the page asks not to be indexed, by meta robots or ``X-Robots-Tag``."""
    agent = agent.lower()
    if x_robots_tag and _header_noindex(x_robots_tag, agent):
        return True
    for tag in _META.findall(body[:_HEAD_BYTES]):
        attrs = {
            m.group(1).lower(): (m.group(2) or m.group(3) or m.group(4) or b"") for m in _ATTR.finditer(tag)
        }
        name = attrs.get(b"name", b"").decode("latin-1").strip().lower()
        if name in ("robots", agent) and _directives_say_noindex(
            attrs.get(b"content", b"").decode("latin-1")
        ):
            return True
    return False
