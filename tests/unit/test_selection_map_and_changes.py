"""The map database, the change detection on real git repositories, imports, order and recorders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Optional

import pytest

from pytest_orchestra.selection import cli
from pytest_orchestra.selection.changes import (
    ADDED,
    DELETED,
    MODIFIED,
    REF_CHANGED,
    compute_changes,
    list_project_files,
)
from pytest_orchestra.selection.imports import ImportGraph, ModuleIndex, absolute_name, imported_names
from pytest_orchestra.selection.mapformat import KIND_FIXTURE, Recording, blob_hash
from pytest_orchestra.selection.mapstore import MapError, MapStore
from pytest_orchestra.selection.priority import PastResults, apply_budget, history_from_records, priority_order
from pytest_orchestra.selection.recorder import IMPORT_CONTEXT, OpenRecorder, ProjectFiles
from pytest_orchestra.selection.recording import file_version


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


def repo(root: Path) -> Path:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "qa@example.com")
    git(root, "config", "user.name", "QA")
    return root


def commit_all(root: Path, message: str = "change") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def save(path: Path, recording: Recording) -> None:
    store, _ = MapStore.open_for_recording(path)
    store.save(recording)
    store.close()


def recording_of(root: Path, hits, **extra) -> Recording:
    recording = Recording(root=str(root), python="cpython-3.11", commit="abc", hits=hits, **extra)
    recording.files = {p: v for p in list_project_files(root) if (v := file_version(root, p))}
    return recording


# --- the map ------------------------------------------------------------------------


def test_blob_hash_is_gits(tmp_path: Path) -> None:
    repo(tmp_path)
    (tmp_path / "f.txt").write_bytes(b"hello\n")
    assert blob_hash(b"hello\n") == git(tmp_path, "hash-object", "f.txt").strip()


def test_a_test_run_again_replaces_its_lines_and_imports_accumulate(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("a = 1\nb = 2\n")
    path = tmp_path / "map.db"
    save(path, recording_of(tmp_path, {"t::one": {"m.py": {1}}, IMPORT_CONTEXT: {"m.py": {1}}},
                            kinds={IMPORT_CONTEXT: "import"}))
    save(path, recording_of(tmp_path, {"t::one": {"m.py": {2}}, IMPORT_CONTEXT: {"m.py": {2}}},
                            kinds={IMPORT_CONTEXT: "import"}, fixtures={"t::one": ["tmp_path"]}))
    store = MapStore.open_for_reading(path)
    lines = {(hit.context, hit.lines) for hit in store.hits_on(["m.py"])}
    assert lines == {("t::one", frozenset({2})), (IMPORT_CONTEXT, frozenset({1, 2}))}
    assert store.contexts()["t::one"] == ("test", ("tmp_path",))
    assert store.source(blob_hash(b"a = 1\nb = 2\n")) == "a = 1\nb = 2\n"
    assert store.imports() == {"m.py": ()}
    store.close()


def test_a_missing_corrupt_or_foreign_map_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "map.db"
    with pytest.raises(MapError, match=r"^no map at .*map\.db \(record one with --orchestra-record-map\)$"):
        MapStore.open_for_reading(path)
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MapError, match=r"^the map .*map\.db is unreadable \(file is not a database\)$"):
        MapStore.open_for_reading(path)
    store, warning = MapStore.open_for_recording(path)
    assert warning is not None and "was unusable (file is not a database); moved it to map.db.unusable-" in warning
    store.close()
    assert len(list(tmp_path.glob("map.db.unusable-*"))) == 1
    with pytest.raises(MapError, match="has schema none"):  # a new map nothing was saved into
        MapStore.open_for_reading(path)


def test_a_map_of_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "map.db"
    save(path, recording_of(tmp_path, {}))
    store, _ = MapStore.open_for_recording(path)
    store.db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    store.close()
    with pytest.raises(MapError, match="has schema 99, this pytest-orchestra uses 1"):
        MapStore.open_for_reading(path)


def test_shard_maps_merge_with_their_own_versions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.py").write_text("x = 1\n")
    save(tmp_path / "a.db", recording_of(tmp_path, {"t::a": {"m.py": {1}}}))
    (tmp_path / "m.py").write_text("x = 2\n")
    save(tmp_path / "b.db", recording_of(tmp_path, {"t::b": {"m.py": {1}}, "fix": {"m.py": None}},
                                         kinds={"fix": KIND_FIXTURE}))
    assert cli.main(["merge", str(tmp_path / "a.db"), str(tmp_path / "b.db"), "--out", str(tmp_path / "all.db")]) == 0
    assert "merged 2 maps (3 contexts)" in capsys.readouterr().out
    store = MapStore.open_for_reading(tmp_path / "all.db")
    assert store.versions() == {"m.py": {blob_hash(b"x = 1\n"), blob_hash(b"x = 2\n")}}
    assert store.source(blob_hash(b"x = 1\n")) == "x = 1\n"
    store.close()
    assert cli.main(["show", str(tmp_path / "all.db")]) == 0
    assert "2 tests, 1 files executed or read" in capsys.readouterr().out
    assert cli.main(["show", str(tmp_path / "none.db")]) == 2
    assert "no map at" in capsys.readouterr().err


# --- changes on real git repositories -----------------------------------------------


@pytest.fixture
def git_project(tmp_path: Path) -> Path:
    (tmp_path / "p").mkdir()
    root = repo(tmp_path / "p")
    for name in ("keep.py", "edit.py", "staged.py", "gone.py", "old_name.py"):
        (root / name).write_text(f"NAME = {name!r}\n")
    (root / ".gitignore").write_text("*.log\n")
    commit_all(root, "init")
    return root


def changes_of(root: Path, ref=None):
    listing = list_project_files(root)
    recorded = {p: (v.hash, v.size, v.mtime_ns) for p in listing if (v := file_version(root, p))}
    return recorded, lambda: compute_changes(root, versions={}, recorded_files=recorded,
                                             listing=list_project_files(root), ref=ref)


def test_every_kind_of_working_tree_change_is_seen(git_project: Path) -> None:
    root = git_project
    _, changes = changes_of(root)
    (root / "edit.py").write_text("NAME = 'edited'\n")
    (root / "staged.py").write_text("NAME = 'staged'\n")
    git(root, "add", "staged.py")
    (root / "gone.py").unlink()
    git(root, "mv", "old_name.py", "new_name.py")
    (root / "untracked.py").write_text("x = 1\n")
    (root / "ignored.log").write_text("noise\n")
    (root / "committed.py").write_text("y = 1\n")
    commit_all(root, "a commit after the map")
    (root / "untracked.py").write_text("x = 2\n")
    result = changes()
    assert {path: delta.status for path, delta in result.deltas.items()} == {
        "edit.py": MODIFIED, "staged.py": MODIFIED, "gone.py": DELETED, "old_name.py": DELETED,
        "new_name.py": ADDED, "untracked.py": ADDED, "committed.py": ADDED,
    }
    assert result.unknown is None


def test_touching_a_file_without_changing_it_is_no_change(git_project: Path) -> None:
    _, changes = changes_of(git_project)
    os.utime(git_project / "keep.py", (1, 1))
    assert changes().empty


def test_a_ref_adds_what_git_diff_names_and_unknown_refs_are_reported(git_project: Path) -> None:
    root = git_project
    git(root, "checkout", "-q", "-b", "feature")
    (root / "keep.py").write_text("NAME = 'feature'\n")
    commit_all(root, "feature work")
    _, changes = changes_of(root, ref="main")
    assert {p: d.status for p, d in changes().deltas.items()} == {"keep.py": REF_CHANGED}
    _, unknown = changes_of(root, ref="no-such-branch")
    assert unknown().unknown == "unknown git ref 'no-such-branch'"


def test_an_unknown_ref_in_a_shallow_clone_says_so(git_project: Path, tmp_path: Path) -> None:
    (git_project / "keep.py").write_text("NAME = 2\n")
    commit_all(git_project, "second")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{git_project}", str(clone))
    _, changes = changes_of(clone, ref="HEAD~1")
    assert changes().unknown == ("unknown git ref 'HEAD~1' in this shallow clone "
                                 "(fetch more history: git fetch --unshallow)")


def test_outside_git_the_files_are_walked(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "b.py").write_text("x = 1\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "c.txt").write_text("x\n")
    assert list_project_files(tmp_path) == ["a.py", "pkg/c.txt"]


# --- imports ------------------------------------------------------------------------


def test_module_names_relative_imports_and_the_reverse_closure() -> None:
    files = ["src/pkg/__init__.py", "src/pkg/a.py", "src/pkg/sub/__init__.py", "src/pkg/sub/b.py",
             "tests/test_x.py", "tests/helpers.py", "tests/test_other.py"]
    index = ModuleIndex(files)
    assert index.module_of["src/pkg/sub/b.py"] == "pkg.sub.b"
    assert index.module_of["tests/helpers.py"] == "helpers"
    imports = {
        "src/pkg/a.py": imported_names("from .sub import b\nimport os\n"),
        "tests/helpers.py": imported_names("from pkg.a import thing\n"),
        "tests/test_x.py": imported_names("import helpers\n"),
        "tests/test_other.py": imported_names("import json\n"),
    }
    assert imports["src/pkg/a.py"] == (".sub", ".sub.b", "os")
    graph = ImportGraph(index, imports)
    assert graph.importers_of(["src/pkg/sub/b.py"]) == {"src/pkg/a.py", "tests/helpers.py", "tests/test_x.py"}
    assert absolute_name("...x", "pkg") is None
    assert imported_names("def (:") == ()


def test_imports_are_read_line_by_line_with_their_continuations() -> None:
    source = textwrap.dedent(
        """\
        import a; import b.c as d
        from . import (x,  # a comment
            y)
        from ..p.q import *
        from .m import n as o
        import e, \\
            f


        def late():
            from g import h
        """
    )
    assert imported_names(source) == ("a", "b.c", ".", ".x", ".y", "..p.q", ".m", ".m.n", "e", "f", "g", "g.h")


# --- order and budget ---------------------------------------------------------------


def test_failed_last_then_most_changed_lines_then_fastest_unstable_last() -> None:
    history = history_from_records(
        [("f", "failed", False, False), ("q", "passed", False, True), ("k", "passed", True, False)],
        {"a": 2.0, "b": 1.0, "c": 1.0, "f": 9.0},
    )
    ordered = priority_order(["a", "b", "c", "q", "k", "f", "d"], changed_lines={"c": 3, "b": 1}, history=history)
    # d has no duration: it counts as the median (1.5 s), between b and a.
    assert ordered == ["f", "c", "b", "d", "a", "q", "k"]
    assert priority_order(["x", "y"], changed_lines={}, history=PastResults()) == ["x", "y"]


def test_the_budget_keeps_the_highest_priority_prefix() -> None:
    durations = {"a": 1.0, "b": 5.0, "c": 1.0}
    assert apply_budget(["a", "b", "c"], max_tests=2, max_seconds=None, durations={}) == (["a", "b"], ["c"])
    assert apply_budget(["a", "b", "c"], max_tests=None, max_seconds=3, durations=durations) == (["a"], ["b", "c"])
    assert apply_budget(["b"], max_tests=None, max_seconds=1, durations=durations) == (["b"], [])


# --- recorders ----------------------------------------------------------------------

HELPER = textwrap.dedent(
    """\
    def shared(x):
        if x > 1:
            return "big"
        return "small"
    """
)


def _recording_script(tmp_path: Path, recorder: str, modules: str, second_test: str) -> str:
    """A child process's script: ``recorder`` records test "one" calling ``helper.shared(2)``
    and test "two" running ``second_test``, then prints (context, file, lines) sorted."""
    return textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(Path(__file__).resolve().parents[2])!r}, {str(tmp_path)!r}]
        from pathlib import Path
        from pytest_orchestra.selection.recorder import ProjectFiles
        from pytest_orchestra.selection.tracers import {recorder.split("(")[0]}
        import {modules}
        recorder = {recorder.replace("(", "(ProjectFiles(Path(" + repr(str(tmp_path)) + ")), ", 1) if "(" in recorder
                    else recorder + "(ProjectFiles(Path(" + repr(str(tmp_path)) + ")))"}
        recorder.start()
        recorder.switch("one"); helper.shared(2)
        recorder.switch("two"); {second_test}
        data = recorder.stop()
        print(sorted((c, Path(f).name, sorted(l)) for c, files in data.items() for f, l in files.items()))
        """
    )


@pytest.mark.parametrize("recorder", ["TracerRecorder", "TracerRecorder(python_tracer=True)"])
def test_tracer_recorder_credits_a_shared_helper_to_every_test(tmp_path: Path, recorder: str) -> None:
    # coveragepy #2200: with the sysmon core a line is credited to the first context only.
    # In a child process: a second coverage.py measurement would pause make test's own.
    (tmp_path / "helper.py").write_text(HELPER)
    script = _recording_script(tmp_path, recorder, "helper", "helper.shared(2); helper.shared(0)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == str([("one", "helper.py", [2, 3]), ("two", "helper.py", [2, 3, 4])])


def test_tracer_recorder_records_threads_started_while_it_runs(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(HELPER)
    second = "import threading; t = threading.Thread(target=helper.shared, args=(0,)); t.start(); t.join()"
    script = _recording_script(tmp_path, "TracerRecorder", "helper", second)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == str([("one", "helper.py", [2, 3]), ("two", "helper.py", [2, 4])])


def test_tracer_recorder_pauses_a_running_coverage_measurement_and_resumes_it(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(HELPER)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{str(Path(__file__).resolve().parents[2])!r}, {str(tmp_path)!r}]
        from pathlib import Path
        import coverage
        outer = coverage.Coverage(data_file=None, config_file=False, include=[{str(tmp_path / "*")!r}])
        outer.start()
        from pytest_orchestra.selection.recorder import ProjectFiles
        from pytest_orchestra.selection.tracers import TracerRecorder
        import helper
        recorder = TracerRecorder(ProjectFiles(Path({str(tmp_path)!r})))
        recorder.start("one")
        helper.shared(2)
        data = recorder.stop()
        helper.shared(0)
        outer.stop()
        print(recorder.paused_other, sorted(data["one"][str(Path({str(tmp_path)!r}) / "helper.py")]),
              sorted(outer.get_data().lines(str(Path({str(tmp_path)!r}) / "helper.py"))))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The outer measurement missed what ran while the map recorded, and saw what ran after.
    assert out.split() == ["True", "[2,", "3]", "[1,", "2,", "4]"]


def _python_with_monitoring() -> Optional[str]:
    if sys.version_info >= (3, 12):
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in (12, 13, 14)]
    candidates += sorted(str(p) for p in Path("/root/.pyenv/versions").glob("3.1[2-9]*/bin/python"))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 12)"],
                          capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.skipif(_python_with_monitoring() is None, reason="no Python 3.12+ on this machine")
def test_monitoring_recorder_rearms_the_code_each_test_ran(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(HELPER)
    (tmp_path / "twin.py").write_text(HELPER)  # equal code objects in another file
    script = _recording_script(
        tmp_path, "MonitoringRecorder", "helper, twin", "helper.shared(2); helper.shared(0); twin.shared(0)"
    )
    python = _python_with_monitoring()
    assert python is not None
    out = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str([
        ("one", "helper.py", [2, 3]), ("two", "helper.py", [2, 3, 4]), ("two", "twin.py", [2, 4]),
    ])


def test_open_recorder_notes_project_files_read_not_written(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("a\n")
    (tmp_path / "module.py").write_text("x = 1\n")
    recorder = OpenRecorder(ProjectFiles(tmp_path))
    recorder.start("t")
    try:
        (tmp_path / "data.csv").read_text()
        (tmp_path / "module.py").read_text()
        (tmp_path / "out.txt").write_text("written")
        os.close(os.open(tmp_path / "data.csv", os.O_RDONLY))
        Path(sys.executable).read_bytes()[:1]
    finally:
        data = recorder.stop()
    (tmp_path / "data.csv").read_text()  # after stop: not recorded
    assert data == {"t": {str((tmp_path / "data.csv").resolve())}}


def test_a_map_another_process_holds_is_waited_for_not_moved_aside(tmp_path: Path) -> None:
    import sqlite3
    import threading

    from pytest_orchestra.selection.plugin import save_with_retries

    path = tmp_path / "map.db"
    (tmp_path / "m.py").write_text("x = 1\n")
    save(path, recording_of(tmp_path, {"t::a": {"m.py": {1}}}))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another worker in the middle of its save
    threading.Timer(1.0, lambda: holder.execute("COMMIT")).start()

    assert save_with_retries(path, recording_of(tmp_path, {"t::b": {"m.py": {1}}})) is None
    holder.close()
    store = MapStore.open_for_reading(path)
    assert {name for name, (kind, _) in store.contexts().items() if kind == "test"} == {"t::a", "t::b"}
    store.close()
    assert not list(tmp_path.glob("map.db.unusable-*"))
