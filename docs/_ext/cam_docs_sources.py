"""Doc pages that follow the code, written before Sphinx reads the sources.

- `lessons/`: a copy of every notebook in `notebooks/` (a glob, so new lessons appear),
  and of `notebooks/data/` (files lessons read, such as lesson 08's reference maps);
- `_generated/api_public.md`: one autodoc entry per name in `cam_widgets.__all__`;
- `_generated/methods.md`: every method `cam_widgets.methods()` lists, with its paper,
  what its map means and its declared options (a newly registered method appears);
- `_generated/speed_table.md`: the latest `make bench` summary, else the README's table;
- `_static/mathjax` in the built site: MathJax from the jupyter-server-mathjax package,
  so formulas render without a network.

Files are rewritten only when their text changes, so Sphinx re-reads only what changed.
"""
from __future__ import annotations

import importlib
import inspect
import re
import shutil
from pathlib import Path

GENERATED = "_generated"
LESSONS = "lessons"


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def copy_lessons(root: Path, docs: Path) -> list[str]:
    """Copy `notebooks/*.ipynb` to `docs/lessons/`, dropping copies whose source is gone,
    and the files lessons read (`notebooks/data/`) to `docs/lessons/data/`."""
    target = docs / LESSONS
    target.mkdir(exist_ok=True)
    sources = sorted((root / "notebooks").glob("*.ipynb"))
    names = {source.name for source in sources}
    for stale in target.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
    for source in sources:
        _write(target / source.name, source.read_text())
    data = root / "notebooks" / "data"
    if data.is_dir():
        shutil.copytree(data, target / "data", dirs_exist_ok=True)
    return sorted(names)


def api_public(package: str = "cam_widgets") -> str:
    """An autodoc entry for every public name of `package`, in `__all__` order."""
    module = importlib.import_module(package)
    lines = ["```{eval-rst}"]
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value):
            lines += [f".. autoclass:: {package}.{name}", "   :members:", ""]
        else:
            lines += [f".. autofunction:: {package}.{name}", ""]
    return "\n".join(lines + ["```", ""])


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def methods_page(package: str = "cam_widgets") -> str:
    """A table of the registered methods, then one section per method: its docstring,
    its caption and a table of its options."""
    methods = importlib.import_module(package).methods()
    lines = ["| `method=` | paper | reads a layer | map | options |", "|---|---|---|---|---|"]
    for method in methods:
        kind = "signed" if method.signed_map(False) else "unsigned"
        per = "per class" if method.class_specific else "the same for every class"
        options = ", ".join(f"`{option.name}`" for option in method.options) or "none"
        lines.append(f"| [`{method.name}`](#method-{_anchor(method.name)}) | "
                     f"{_cell(method.paper)} | {'yes' if method.uses_layer else 'no'} | "
                     f"{kind}, {per} | {options} |")
    for method in methods:
        lines += ["", f"(method-{_anchor(method.name)})=", f"### `{method.name}`", "",
                  inspect.getdoc(type(method)) or "", "",
                  f"**What a bright pixel means:** {method.caption}.", "",
                  f"**Paper:** {method.paper}. "
                  f"**Reads a layer:** {'yes' if method.uses_layer else 'no'}. "
                  f"**Guided ReLUs:** {'always' if method.forces_guided else 'with guided=True'}."]
        if method.options:
            lines += ["", "| option | default | allowed | what it sets |", "|---|---|---|---|"]
            lines += [f"| `{o.name}` | `{o.default!r}` | {_cell(o.allowed())} | {_cell(o.doc)} |"
                      for o in method.options]
        else:
            lines += ["", "No options."]
    return "\n".join(lines) + "\n"


def _anchor(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-") + (
        "-plus-plus" if name.endswith("++") else "")


def speed_table(root: Path) -> str:
    """The summary of `benchmarks/results/latest.md` with every script's output after it,
    or the README's speed section when no benchmark ran in this checkout."""
    latest = root / "benchmarks" / "results" / "latest.md"
    if latest.exists():
        text = latest.read_text()
        header, _, rest = text.partition("\n\n")
        runs, _, summary = rest.partition("\n## Summary")
        title, _, table = summary.partition("\n")
        machine = " ".join(line.strip() for line in header.splitlines()[1:])
        return (f"The latest `make bench` run in this checkout ({machine}).\n\n"
                f"### Summary{title}\n{table.strip()}\n\n### Every benchmark's output\n\n"
                f"````text\n{runs.strip()}\n````\n")
    readme = (root / "README.md").read_text()
    match = re.search(r"^## Speed\n(.*?)(?=^## |\Z)", readme, flags=re.S | re.M)
    if match is None:
        raise RuntimeError("README.md has no '## Speed' section and no benchmark ran.")
    return ("No `make bench` ran in this checkout, so this is the table published in the "
            "README.\n\n" + match.group(1).strip() + "\n")


def write_all(root: Path, docs: Path) -> None:
    copy_lessons(root, docs)
    _write(docs / GENERATED / "api_public.md", api_public())
    _write(docs / GENERATED / "methods.md", methods_page())
    _write(docs / GENERATED / "speed_table.md", speed_table(root))


def copy_mathjax(app, exception) -> None:
    """Sphinx `build-finished` hook: the MathJax 2 that jupyter-server-mathjax ships (TeX
    input, HTML-CSS output, STIX-Web fonts) into the site's `_static/mathjax`."""
    if exception is not None or app.builder.format != "html":
        return
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(source, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)
