"""The README against what it describes: the lessons in notebooks/, the arguments of
`explain`, and a quick start that runs as written."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

from cam_widgets import explain

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
NUMBERS = {5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, flags=re.S | re.M)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def test_the_lesson_list_is_the_notebooks_folder():
    lessons = section("Teaching notebooks")
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert re.findall(r"`(\d\d_\w+\.ipynb)`", lessons) == notebooks
    assert f"holds {NUMBERS[len(notebooks)]} short lessons" in lessons


def test_the_api_table_lists_every_argument_of_explain():
    (row,) = [line for line in section("The API").splitlines() if line.startswith("| `explain(")]
    listed = re.findall(r"[(,]\s*\*{0,2}(\w+)", row.split("` |")[0])
    expected = list(inspect.signature(explain).parameters)
    assert [name for name in listed if name in expected] == expected  # all, in order


def test_the_quick_start_comes_first_and_runs_as_written():
    titles = re.findall(r"^## (.+)$", README, flags=re.M)
    assert titles[:3] == ["Quick start", "Install", "The two commands"]
    code = re.search(r"```python\n(.*?)```", section("Quick start"), flags=re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 (our own README)
    res, images = namespace["res"], namespace["images"]
    assert res.maps.shape == (8, 64, 64) and res.method == "gradcam"
    assert namespace["viewer"].snapshot().dtype.name == "uint8"
    assert len(res.targets) == len(images) == 8
