"""Print the README's settings table from the Settings model (the one source of truth)."""

from __future__ import annotations

from shared.settings import Settings


def main() -> None:
    print("| variable | default | meaning |")
    print("| --- | --- | --- |")
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        default = getattr(default, "value", default)
        shown = "" if default is None or default == [] else f"`{default}`"
        print(f"| `{name.upper()}` | {shown} | {field.description} |")


if __name__ == "__main__":
    main()
