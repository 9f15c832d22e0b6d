"""The README's reference tables stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from shared.errors import Reason
from shared.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README, flags=re.M))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"settings missing from the README table: {sorted(missing)}"


def test_every_reason_code_is_documented_in_the_readme() -> None:
    section = README.split("## Reason codes", 1)[1].split("\n## ", 1)[0]
    missing = [r.value for r in Reason if f"`{r.value}`" not in section]
    assert not missing, f"reason codes missing from the README: {missing}"
