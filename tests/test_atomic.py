"""Output files: private, durable, whole-or-nothing, and never written over the wrong thing.

Each test is named after the finding it reproduces; the docstring says what happened before.
"""

from __future__ import annotations

import errno
import os
import pickle
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lenasched.atomic import STALE_AFTER_SECONDS, TEMP_SUFFIX, write_atomic
from lenasched.cli.main import main
from lenasched.errors import LenaschedError, OutputError

Capture = pytest.CaptureFixture[str]
CSV_ARGS = ["calendar", "badoux-2011", "--start", "2027-01-04", "--cycles", "1", "--format", "csv"]
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions, FIFOs and signals")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX))


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def umask() -> Iterator[Callable[[int], int]]:
    """Set the process umask for one test and always put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@posix_only
def test_world_readable_output_under_umask_077(tmp_path: Path, umask: Callable[[int], int]) -> None:
    """Was: chmod 0644 after writing, so a patient's calendar was readable by everyone despite umask 077."""
    umask(0o077)
    write_atomic(tmp_path / "cal.csv", "date\n")
    assert mode_of(tmp_path / "cal.csv") == 0o600


@posix_only
def test_output_mode_ignored_umask_022(tmp_path: Path, umask: Callable[[int], int]) -> None:
    """The ordinary umask still gives the ordinary 0644 (and 0640 under 027: the umask decides, not a constant)."""
    umask(0o022)
    write_atomic(tmp_path / "a.csv", "date\n")
    umask(0o027)
    write_atomic(tmp_path / "b.csv", b"date\n")
    assert (mode_of(tmp_path / "a.csv"), mode_of(tmp_path / "b.csv")) == (0o644, 0o640)


@posix_only
def test_replacing_a_file_reset_its_mode(tmp_path: Path, umask: Callable[[int], int]) -> None:
    """Was: a file the user had made 0600 (or 0640 for the pharmacy group) came back 0644 after a rewrite."""
    umask(0o022)
    target = tmp_path / "cal.csv"
    target.write_text("old\n")
    for mode in (0o600, 0o640):
        target.chmod(mode)
        write_atomic(target, "new\n")
        assert (mode_of(target), target.read_text()) == (mode, "new\n")


def test_output_not_fsynced_before_and_after_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: no fsync, so after a power cut the renamed file could be empty or the rename lost."""
    target = tmp_path / "cal.csv"
    calls: list[tuple[str, bool]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file" if stat.S_ISREG(os.fstat(fd).st_mode) else "?"
        calls.append((kind, target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_atomic(target, "date\n")
    expected = [("file", False), ("dir", True)]  # the file before the rename, its directory after it
    assert calls == (expected if os.name == "posix" else expected[:1])


@posix_only
def test_kill_9_left_a_temporary_forever(tmp_path: Path, capsys: Capture) -> None:
    """Was: a run killed between write and rename left ``.cal.csv.XXXX.tmp`` behind for good.

    A real SIGKILL at the rename: the target keeps its old content, a young leftover is left alone (it
    may be a live writer's), an hour-old one goes on the next write and the CLI says so once.
    """
    target = tmp_path / "cal.csv"
    target.write_text("old\n")
    code = (
        "import os, signal, sys\n"
        "from lenasched.atomic import write_atomic\n"
        "os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
        "write_atomic(sys.argv[1], 'new\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, check=False)
    assert done.returncode == -signal.SIGKILL
    [leftover] = temporaries(tmp_path)
    assert leftover.name.startswith(".cal.csv.")
    assert target.read_text() == "old\n"

    assert write_atomic(target, "newer\n") == ()  # younger than STALE_AFTER_SECONDS: kept
    assert temporaries(tmp_path) == [leftover]

    age(leftover, STALE_AFTER_SECONDS + 60)
    other = tmp_path / f".cal.csv.bak.abcd1234{TEMP_SUFFIX}"  # belongs to the target "cal.csv.bak"
    other.write_text("x")
    age(other, STALE_AFTER_SECONDS + 60)
    assert write_atomic(target, "newest\n") == (leftover,)
    assert temporaries(tmp_path) == [other] and target.read_text() == "newest\n"

    stale = tmp_path / f".cal.csv.zz99_x00{TEMP_SUFFIX}"
    stale.write_text("half a calend")
    age(stale, STALE_AFTER_SECONDS + 60)
    assert main([*CSV_ARGS, "-o", str(target)]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "stale temporary" in line]
    assert notes == [f"note: removed stale temporary file {stale} from an interrupted run"]
    assert not stale.exists()


@posix_only
def test_read_only_output_was_silently_replaced(tmp_path: Path, capsys: Capture) -> None:
    """Was: os.replace overwrote a file marked read-only (chmod 444), e.g. a signed-off calendar."""
    target = tmp_path / "cal.csv"
    target.write_text("signed off\n")
    target.chmod(0o444)
    with pytest.raises(OutputError, match=r"cal\.csv: it is read-only \(mode 0444\); use --force"):
        write_atomic(target, "new\n")
    assert target.read_text() == "signed off\n" and temporaries(tmp_path) == []

    assert main([*CSV_ARGS, "-o", str(target)]) == 1
    assert "read-only" in capsys.readouterr().err and target.read_text() == "signed off\n"

    assert main([*CSV_ARGS, "-o", str(target), "--force"]) == 0
    assert target.read_text().startswith("date,") and mode_of(target) == 0o444  # still marked read-only


def _make_fifo(path: Path) -> str:
    os.mkfifo(path)
    return "a named pipe (FIFO)"


def _make_symlink(path: Path) -> str:
    real = path.with_name("real.csv")
    real.write_text("real\n")
    path.symlink_to(real)
    return "a symbolic link"


def _make_directory(path: Path) -> str:
    path.mkdir()
    return "a directory"


@posix_only
@pytest.mark.parametrize("make", [_make_directory, _make_symlink, _make_fifo], ids=["directory", "symlink", "fifo"])
def test_output_over_a_non_regular_file(tmp_path: Path, make: Callable[[Path], str]) -> None:
    """Was: a directory gave a traceback, a symlink was replaced by a file, a FIFO by a file (or a hang)."""
    target = tmp_path / "out.csv"
    kind = make(target)
    before = os.lstat(target)
    with pytest.raises(OutputError, match=re.escape(f"cannot write {target}: it is {kind}, not a regular file")):
        write_atomic(target, "new\n")
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino) and temporaries(tmp_path) == []
    if kind == "a symbolic link":
        assert (tmp_path / "real.csv").read_text() == "real\n"


@posix_only
def test_output_over_a_device_or_socket(tmp_path: Path) -> None:
    """Was: ``-o /dev/full`` tried to replace the device node; a socket path likewise."""
    if Path("/dev/full").exists():
        with pytest.raises(OutputError, match="/dev/full: it is a character device"):
            write_atomic("/dev/full", "x")
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError:  # a path longer than sun_path allows
        pytest.skip("socket path too long here")
    finally:
        server.close()
    with pytest.raises(OutputError, match="it is a socket"):
        write_atomic(path, "x")


def test_dash_output_wrote_a_file_named_dash(tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    """Was: ``-o -`` created a file called ``-``; now it is standard output, as in every Unix tool."""
    monkeypatch.chdir(tmp_path)
    assert main([*CSV_ARGS, "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("date,study_day,") and "2027-01-04,1,treatment,1,1,lenalidomide," in out
    assert list(tmp_path.iterdir()) == []


def test_full_disk_left_a_partial_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    """Was: ENOSPC mid-write raised a bare OSError (a traceback in the CLI) after a partial write."""
    target = tmp_path / "cal.csv"
    target.write_text("old\n")
    real_write = os.write
    written: list[int] = []

    def disk_fills_up(fd: int, data: bytes | memoryview) -> int:
        if written:  # the first chunk fits, then the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(real_write(fd, bytes(data[: max(1, len(data) // 2)])))
        return written[-1]

    monkeypatch.setattr(os, "write", disk_fills_up)
    with pytest.raises(OutputError, match=re.escape(f"cannot write {target}: {os.strerror(errno.ENOSPC)}")):
        write_atomic(target, "date,study_day\n" * 100)
    assert target.read_text() == "old\n" and temporaries(tmp_path) == []

    written.clear()
    assert main([*CSV_ARGS, "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"error: cannot write {target}: {os.strerror(errno.ENOSPC)}"
    assert target.read_text() == "old\n" and temporaries(tmp_path) == []


def test_output_to_a_directory_gave_a_traceback(tmp_path: Path, capsys: Capture) -> None:
    """Was: ``-o SOMEDIR`` ended in IsADirectoryError's traceback; now one error line and exit 1."""
    code = main([*CSV_ARGS, "-o", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.splitlines() == [f"error: cannot write {tmp_path}: it is a directory, not a regular file"]


def test_output_in_a_missing_folder_gave_a_traceback(tmp_path: Path) -> None:
    """Was: a bare FileNotFoundError from mkstemp; now an OutputError naming the path and the reason."""
    target = tmp_path / "no-such-folder" / "cal.csv"
    with pytest.raises(OutputError, match=re.escape(f"cannot write {target}: {os.strerror(errno.ENOENT)}")):
        write_atomic(target, "x")


def test_output_error_did_not_survive_pickling() -> None:
    """Errors cross process pools (simulate): OutputError must pickle with its message and family."""
    error = pickle.loads(pickle.dumps(OutputError("cannot write x: it is a directory, not a regular file")))
    assert isinstance(error, LenaschedError) and str(error) == "cannot write x: it is a directory, not a regular file"


def test_every_output_command_lacked_force(capsys: Capture) -> None:
    """Each command with ``--output`` also takes ``--force`` (and says ``-`` is standard output)."""
    for command in ("calendar", "dispense", "compare", "variant", "simulate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "--force" in text and "standard output" in text, command


# --- every output command, every kind of target (issue 11 item 5) ------------------------------------------

OUTPUT_COMMANDS = {
    "calendar": CSV_ARGS,
    "dispense": ["dispense", "badoux-2011", "--start", "2027-01-04", "--cycles", "1", "--format", "csv"],
    "compare": ["compare", "badoux-2011", "chen-2011", "--days", "56", "--format", "csv"],
    "variant": ["variant", "badoux-2011", "--set", "lenalidomide.start=10"],
    "simulate": ["simulate", "badoux-2011", "--patients", "20", "--format", "csv"],
}


def _needs(command: str) -> None:
    if command == "simulate":
        pytest.importorskip("numpy", reason="simulate needs numpy: pip install 'lenasched[sim]'")


def _make_dangling_symlink(path: Path) -> str:
    path.symlink_to(path.with_name("nowhere.csv"))
    return "a symbolic link"


def _make_symlink_to_directory(path: Path) -> str:
    (path.parent / "real-dir").mkdir()
    path.symlink_to(path.parent / "real-dir")
    return "a symbolic link"


@posix_only
@pytest.mark.parametrize("command", sorted(OUTPUT_COMMANDS))
@pytest.mark.parametrize(
    "make",
    [_make_directory, _make_symlink, _make_dangling_symlink, _make_symlink_to_directory, _make_fifo],
    ids=["directory", "symlink", "dangling-symlink", "symlink-to-directory", "fifo"],
)
def test_cli_refuses_a_target_that_is_not_a_regular_file(
    tmp_path: Path, capsys: Capture, command: str, make: Callable[[Path], str]
) -> None:
    """Each output command: one ``error:`` line, exit 1, the target and what it points to untouched."""
    _needs(command)
    target = tmp_path / "out.csv"
    kind = make(target)
    before = os.lstat(target)
    assert main([*OUTPUT_COMMANDS[command], "-o", str(target)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1].startswith(f"error: cannot write {target}: it is {kind}, not a regular file")
    assert [line for line in captured.err.splitlines() if line.startswith("error:")] == [captured.err.splitlines()[-1]]
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino) and temporaries(tmp_path) == []
    if (tmp_path / "real.csv").exists():
        assert (tmp_path / "real.csv").read_text() == "real\n"
    assert not (tmp_path / "nowhere.csv").exists()


@posix_only
@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_cli_refuses_a_device(capsys: Capture, device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    assert main([*CSV_ARGS, "-o", device]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: cannot write {device}: it is a character device, not a regular file; "
        "give a regular file (or - for standard output)"
    ]


@posix_only
@pytest.mark.parametrize("command", sorted(OUTPUT_COMMANDS))
def test_cli_read_only_needs_force(tmp_path: Path, capsys: Capture, command: str) -> None:
    _needs(command)
    target = tmp_path / "out.txt"
    target.write_text("signed off\n")
    target.chmod(0o444)
    assert main([*OUTPUT_COMMANDS[command], "-o", str(target)]) == 1
    assert f"cannot write {target}: it is read-only (mode 0444); use --force" in capsys.readouterr().err
    assert target.read_text() == "signed off\n"
    assert main([*OUTPUT_COMMANDS[command], "-o", str(target), "--force"]) == 0
    assert target.read_text() != "signed off\n" and mode_of(target) == 0o444 and temporaries(tmp_path) == []


@pytest.mark.parametrize("command", sorted(OUTPUT_COMMANDS))
def test_cli_dash_is_standard_output(
    tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    _needs(command)
    monkeypatch.chdir(tmp_path)
    assert main([*OUTPUT_COMMANDS[command], "-o", "-"]) == 0
    assert capsys.readouterr().out.strip()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}])
def test_output_files_are_utf8_whatever_the_locale(tmp_path: Path, env: dict[str, str]) -> None:
    """``-o FILE`` is UTF-8 under an ASCII locale; ``-o -`` falls back to ASCII instead of failing."""
    target = tmp_path / "cal.html"
    argv = ["calendar", "badoux-2011", "--start", "2027-01-04", "--cycles", "1", "--format", "html"]
    environment = {**os.environ, "PYTHONIOENCODING": "", **env}
    done = subprocess.run([sys.executable, "-m", "lenasched", *argv, "-o", str(target)], env=environment, check=False)
    assert done.returncode == 0
    text = target.read_bytes().decode("utf-8")
    assert any(ord(c) > 127 for c in text)  # "·", "–": written as UTF-8, not escaped or replaced
    done = subprocess.run(
        [sys.executable, "-m", "lenasched", *argv, "-o", "-"], env=environment, capture_output=True, check=False
    )
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    done.stdout.decode("ascii")
