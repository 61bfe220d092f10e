"""``includes:`` names an add-on; it never reaches a file outside the add-on folders.

Was: ``includes: [{addon: ../../outside/secret}]`` was looked up as ``addons/../../outside/secret.yaml``
(and an absolute name as that path), the file was read as an add-on, and the error echoed its keys
(``secret_key: unknown field 'secret_key'``). Now an add-on is a name (``[a-z0-9]+(-[a-z0-9]+)*``) looked
up as ``NAME.yaml`` in the protocol's own ``addons/`` folder, then among the bundled add-ons; a path, or a
link leading out of its folder, is refused with a located error that says where add-ons may live and
never opens the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import lenasched
from lenasched import ProtocolError
from lenasched.cli.main import main
from lenasched.model.paths import addons_dir, protocols_dir

SECRET = "secret_key: hunter2\npassword: 12345\n"
BUNDLED = "aspirin-thromboprophylaxis"


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """``tmp/p/`` holds the protocol and its ``addons/``; ``tmp/outside/secret.yaml`` is not an add-on folder."""
    (tmp_path / "p" / "addons").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(SECRET, encoding="utf-8")
    return tmp_path


def protocol_with(folder: Path, addon: str) -> Path:
    """chen-2011-original (it includes the bundled aspirin add-on) including ``addon`` instead."""
    text = (protocols_dir() / "chen-2011-original.yaml").read_text(encoding="utf-8")
    assert f"addon: {BUNDLED}," in text
    path = folder / "x.yaml"
    path.write_text(text.replace(f"addon: {BUNDLED},", f"addon: {addon!r},"), encoding="utf-8")
    return path


def refusal(path: Path) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        lenasched.load_protocol(path)
    error = info.value
    assert error.file == str(path) and error.line is not None and error.path == "includes.0.addon", str(error)
    text = str(error)
    assert "secret_key" not in text and "hunter2" not in text and "password" not in text, text
    assert str(path.parent / "addons") in text and str(addons_dir()) in text, text  # where add-ons may live
    return error


@pytest.mark.parametrize(
    "name",
    ["../../outside/secret", "../outside/secret", "..", "./aspirin-thromboprophylaxis", "sub/dir", "Aspirin"],
)
def test_a_path_is_not_an_add_on_name(layout: Path, name: str) -> None:
    error = refusal(protocol_with(layout / "p", name))
    assert "is not an add-on name" in error.message


def test_an_absolute_path_is_refused(layout: Path) -> None:
    error = refusal(protocol_with(layout / "p", str(layout / "outside" / "secret")))
    assert "not by path" in error.message


def test_a_link_out_of_the_add_on_folder_is_refused(layout: Path) -> None:
    link = layout / "p" / "addons" / "evil.yaml"
    try:
        link.symlink_to(layout / "outside" / "secret.yaml")
    except OSError:  # pragma: no cover - no symlinks here (Windows without the privilege)
        pytest.skip("cannot make symbolic links here")
    error = refusal(protocol_with(layout / "p", "evil"))
    assert "is a link to a file outside" in error.message


def copy_addon(target: Path, name: str) -> None:
    """The bundled aspirin add-on saved as ``target``, its id changed to ``name`` (the id must match)."""
    text = (addons_dir() / f"{BUNDLED}.yaml").read_text(encoding="utf-8")
    assert f"addon: {BUNDLED}\n" in text
    target.write_text(text.replace(f"addon: {BUNDLED}\n", f"addon: {name}\n"), encoding="utf-8")


def test_a_local_add_on_and_a_link_inside_the_add_on_folder_work(layout: Path) -> None:
    addons = layout / "p" / "addons"
    copy_addon(addons / "local-aspirin.yaml", "local-aspirin")
    protocol = lenasched.load_protocol(protocol_with(layout / "p", "local-aspirin"))
    assert any(d.addon == "local-aspirin" for p in protocol.phases for d in p.drugs)
    (addons / "store").mkdir()
    copy_addon(addons / "store" / "linked.yaml", "linked")
    try:
        (addons / "linked.yaml").symlink_to(addons / "store" / "linked.yaml")
    except OSError:  # pragma: no cover - no symlinks here
        return
    protocol = lenasched.load_protocol(protocol_with(layout / "p", "linked"))
    assert any(d.addon == "linked" for p in protocol.phases for d in p.drugs)


def test_bundled_add_ons_still_resolve(layout: Path) -> None:
    protocol = lenasched.load_protocol(protocol_with(layout / "p", BUNDLED))
    assert any(d.drug == "aspirin" for p in protocol.phases for d in p.drugs)


def test_an_unknown_name_says_where_add_ons_live(layout: Path) -> None:
    error = refusal(protocol_with(layout / "p", "nosuch"))
    assert error.message == "unknown add-on 'nosuch'"
    assert BUNDLED in (error.hint or "")


def test_text_without_a_folder_resolves_only_bundled_add_ons() -> None:
    text = (protocols_dir() / "chen-2011-original.yaml").read_text(encoding="utf-8")
    with pytest.raises(ProtocolError, match="is not an add-on name") as info:
        lenasched.parse_protocol(text.replace(f"addon: {BUNDLED},", f"addon: '../addons/{BUNDLED}',"), "t.yaml")
    assert info.value.file == "t.yaml" and info.value.path == "includes.0.addon"


def test_the_cli_gives_one_located_line(layout: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = protocol_with(layout / "p", "../../outside/secret")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and len(err.splitlines()) == 1, err
    assert "includes.0.addon" in err and "hunter2" not in err and "secret_key" not in err
    assert os.path.join("outside", "secret.yaml") not in err


@pytest.mark.parametrize(
    ("field", "value"),
    [("references", 5), ("references", [1, 2]), ("phases", [5]), ("drugs", 5)],
    ids=["references-int", "references-list", "phase-int", "drugs-int"],
)
def test_a_malformed_field_beside_includes_is_a_located_error_not_a_crash(field: str, value: object) -> None:
    """Found by benchmarks/fuzz_long.py: the add-on merge ran before the model and tripped on wrong types."""
    import yaml

    data = yaml.safe_load((protocols_dir() / "chanan-khan-2006.yaml").read_text(encoding="utf-8"))
    assert data.get("includes"), "the fixture protocol must include an add-on"
    if field == "drugs":
        data["phases"][0]["drugs"] = value
    else:
        data[field] = value
    with pytest.raises(ProtocolError) as caught:
        lenasched.parse_protocol(yaml.safe_dump(data, sort_keys=False), "fuzzed.yaml")
    assert str(caught.value).startswith("fuzzed.yaml:")
