"""README.md stays true: its change-rule table is the one the schema generates; its commands exist."""
from __future__ import annotations

from pathlib import Path

from providers.schema import change_rule_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_change_rule_table_is_generated_from_the_schema() -> None:
    text = README.read_text()
    table = text.split("<!-- change-rules:start -->\n", 1)[1].split("\n<!-- change-rules:end -->", 1)[0]
    assert table == change_rule_markdown().strip()


def test_readme_shows_the_two_commands_that_the_makefile_defines() -> None:
    text = README.read_text()
    makefile = (README.parent / "Makefile").read_text()
    for target in ("up", "test"):
        assert f"make {target}" in text
        assert f"\n{target}:" in makefile
