"""The documentation stays true: generated pages are current, and every command shown in docs/ runs.

- ``docs/format.md``, ``docs/catalogue.md`` and ``docs/protocol.schema.json`` equal what
  ``lenasched.docgen`` renders now (regenerate with ``python -m lenasched.docgen``).
- Every ``lenasched`` command in a ```` ```sh ```` block of a docs page runs and exits 0; every
  ``$ lenasched ...`` in a ```` ```console ```` block prints what the page shows (``...`` stands for any
  text, whitespace is normalised, as in doctest). Files a page names in a titled block
  (```` ```yaml title="events.yaml" ````) are written first, in a fresh folder per page.
- ``>>>`` examples in the pages are doctests, collected by pytest itself (``--doctest-glob=*.md``).
"""

from __future__ import annotations

import copy
import doctest
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from lenasched import docgen
from lenasched.cli.main import main
from lenasched.model.protocol import Phase
from lenasched.model.schema import schema_json

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_TITLE = re.compile(r'title="([^"]+)"')
#: Commands docs may show that these tests do not run (set-up, development tools).
_NOT_RUN = frozenset({"pip", "pytest", "mkdocs", "git", "ruff", "mypy", "cd", "open", "python3"})
#: What a command needs installed beyond the core dependencies: (argument that shows it, module).
_EXTRAS = (("fhir", "fhir.resources"), ("simulate", "numpy"), ("--plot", "matplotlib"))


@dataclass(frozen=True)
class Block:
    lang: str
    title: str | None
    body: str
    line: int


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]
    stdout_to: str | None
    expected: str | None  # console blocks: the output the page shows
    where: str


def blocks(page: Path) -> Iterator[Block]:
    text = page.read_text(encoding="utf-8")
    for match in _FENCE.finditer(text):
        info = match["info"].strip()
        lang = info.split()[0] if info else ""
        title = _TITLE.search(info)
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        yield Block(lang, title[1] if title else None, body, text.count("\n", 0, match.start()) + 1)


def _logical_lines(body: str) -> Iterator[str]:
    pending = ""
    for line in body.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""


def _commands_in_line(line: str, where: str, expected: str | None = None) -> Iterator[Command]:
    """The lenasched commands of one shell line; anything else must be a known non-run tool."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    chunks: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", ";", "||"):
            chunks.append([])
        else:
            chunks[-1].append(token)
    for chunk in chunks:
        if not chunk:
            continue
        argv, redirect = chunk, None
        if "|" in argv:
            argv = argv[: argv.index("|")]
        if ">" in argv:
            at = argv.index(">")
            argv, redirect = argv[:at], argv[at + 1]
        while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):  # VAR=value prefixes
            argv = argv[1:]
        if argv[:3] == ["python", "-m", "lenasched"]:
            argv = ["lenasched", *argv[3:]]
        if argv and argv[0] == "lenasched":
            yield Command(tuple(argv[1:]), redirect, expected, where)
        elif argv[:2] == ["python", "-m"] or argv[0] in _NOT_RUN:
            continue
        else:
            raise AssertionError(f"{where}: unknown command in the docs: {' '.join(argv)}")


@dataclass(frozen=True)
class File:
    name: str
    text: str


def page_steps(page: Path) -> list[File | Command]:
    """A page's titled files and commands, in page order (a later block of the same name replaces the file)."""
    steps: list[File | Command] = []
    for block in blocks(page):
        where = f"{page.name}:{block.line}"
        if block.title:
            steps.append(File(block.title, block.body))
        if block.lang in ("sh", "bash", "shell"):
            for line in _logical_lines(block.body):
                steps.extend(_commands_in_line(line, where))
        elif block.lang == "console":
            parts = re.split(r"^\$ ", block.body, flags=re.M)
            for part in parts[1:]:
                line, _, output = part.partition("\n")
                steps.extend(_commands_in_line(line, where, output))
    return steps


def page_commands(page: Path) -> list[Command]:
    return [step for step in page_steps(page) if isinstance(step, Command)]


def _needs(argv: tuple[str, ...]) -> str | None:
    for marker, module in _EXTRAS:
        if marker in argv and find_spec(module.split(".")[0]) is None:
            return module
    return None


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_commands_in_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    for var in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(var, raising=False)
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for command in page_steps(page):
        if isinstance(command, File):
            (tmp_path / command.name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / command.name).write_text(command.text, encoding="utf-8")
            continue
        if _needs(command.argv):
            continue
        code = main(list(command.argv))
        out, err = capsys.readouterr()
        shown = "lenasched " + shlex.join(command.argv)
        if command.stdout_to:
            (tmp_path / command.stdout_to).write_text(out, encoding="utf-8")
            out = ""
        if command.expected is None:
            assert code == 0, f"{command.where}: `{shown}` exited {code}: {err}"
            continue
        got = out + err
        if code != 0:
            assert "error:" in command.expected, f"{command.where}: `{shown}` exited {code}: {err}"
        if not checker.check_output(command.expected, got, flags):
            example = doctest.Example(shown, command.expected)
            pytest.fail(f"{command.where}: `{shown}`\n" + checker.output_difference(example, got, flags))


def test_docs_show_commands() -> None:
    """The runner above finds the pages' commands (a broken fence pattern would silently test nothing)."""
    assert any(c.argv[:1] == ("dispense",) for c in page_commands(DOCS / "pharmacists.md"))
    assert any(c.expected is not None for c in page_commands(DOCS / "getting-started.md"))
    steps = page_steps(DOCS / "tutorial-new-protocol.md")
    assert [s.name for s in steps if isinstance(s, File)].count("example-2024.yaml") == 2


def test_shell_line_parsing() -> None:
    line = "UPDATE_GOLDEN=1 pip install . && lenasched calendar x --start 2026-12-01 > out.html  # note"
    (command,) = _commands_in_line(line, "here")
    assert command.argv == ("calendar", "x", "--start", "2026-12-01") and command.stdout_to == "out.html"
    with pytest.raises(AssertionError, match="unknown command"):
        list(_commands_in_line("rm -rf build", "here"))


# --- generated pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(docgen.PAGES))
def test_generated_file_is_current(name: str) -> None:
    path = DOCS / name
    assert path.is_file(), f"docs/{name} is missing: run `python -m lenasched.docgen`"
    assert path.read_text(encoding="utf-8") == docgen.generated_files()[name], (
        f"docs/{name} is out of date: run `python -m lenasched.docgen` and review `git diff docs/`"
    )


def test_docgen_check_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert docgen.main(["--docs", str(tmp_path), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert docgen.main(["--docs", str(tmp_path)]) == 0
    assert docgen.main(["--docs", str(tmp_path), "--check"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(docgen.PAGES)


def test_format_page_lists_every_field() -> None:
    page = (DOCS / "format.md").read_text(encoding="utf-8")
    for model, _ in (*docgen._MODEL_SECTIONS, *docgen._EVENT_SECTIONS):
        for name in model.model_fields:
            assert f"`{name}`" in page, f"{model.__name__}.{name} is not in docs/format.md"


def _patched_field(monkeypatch: pytest.MonkeyPatch, model: type[BaseModel], name: str, **changes: Any) -> None:
    """Change one field's documentation on the model itself, for the length of a test."""
    info = copy.copy(model.model_fields[name])
    for key, value in changes.items():
        setattr(info, key, value)
    monkeypatch.setitem(model.model_fields, name, info)


def test_docgen_refuses_a_field_without_a_description(monkeypatch: pytest.MonkeyPatch) -> None:
    _patched_field(monkeypatch, Phase, "name", description=None)
    with pytest.raises(docgen.DocError, match=r"Phase\.name has no description: add one to the model"):
        docgen.format_page()


def test_docgen_refuses_a_field_without_an_example(monkeypatch: pytest.MonkeyPatch) -> None:
    _patched_field(monkeypatch, Phase, "notes", examples=None)
    with pytest.raises(docgen.DocError, match=r"Phase\.notes has no example: add one to the model"):
        docgen.format_page()


def test_docgen_refuses_an_example_that_does_not_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    _patched_field(monkeypatch, Phase, "cycles", examples=[0])
    with pytest.raises(docgen.DocError, match=r"the example for Phase\.cycles does not validate"):
        docgen.format_page()


def test_field_documentation_lives_on_the_models() -> None:
    """Every documented field carries its description and example in the JSON Schema an editor reads."""
    schema = json.loads(schema_json())
    missing = [
        f"{name}.{field}"
        for name, definition in schema.get("$defs", {}).items()
        for field, prop in definition.get("properties", {}).items()
        if field != "addon" and ("description" not in prop or "examples" not in prop)
    ]
    assert not missing, f"fields without a description or an example in the schema: {missing}"


# --- the site --------------------------------------------------------------------------------------


def test_getting_started_has_the_readme_set_up_commands_word_for_word() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    for marker in ("<!-- readme:run -->", "<!-- readme:test -->"):
        command = readme.split(marker, 1)[1].split("```sh\n", 1)[1].split("\n", 1)[0]
        assert f"```sh\n{command}\n```" in page, f"getting-started.md lacks the README command {command!r}"


def _nav_files(nav: object) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_files(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_files(value)


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["strict"] is True
    listed = set(_nav_files(config["nav"]))
    assert listed == {p.name for p in PAGES}
