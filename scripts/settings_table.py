"""Print (or ``--write`` into README.md) the settings table from the Settings model."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from shared.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        default = getattr(default, "value", default)
        shown = "" if default is None or default == [] else f"`{default}`"
        rows.append(f"| `{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)


def main() -> None:
    if "--write" not in sys.argv:
        print(table())
        return
    text = README.read_text("utf-8")
    new = re.sub(
        r"(<!-- settings:start[^>]*-->\n).*?(\n<!-- settings:end -->)",
        lambda m: m.group(1) + table() + m.group(2),
        text,
        flags=re.S,
    )
    README.write_text(new, "utf-8")


if __name__ == "__main__":
    main()
