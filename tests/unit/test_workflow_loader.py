"""Finding and reading the workflow file: precedence, formats, syntax errors, lazy imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_orchestra.workflow import GatesSpec, Workflow, WorkflowError, load_workflow
from pytest_orchestra.workflow.loader import source_name

REPO_ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(rootdir: Path, explicit: object = None) -> str:
    with pytest.raises(WorkflowError) as info:
        load_workflow(rootdir, explicit)  # type: ignore[arg-type]
    return str(info.value)


def test_no_file_gives_the_empty_workflow(tmp_path: Path) -> None:
    assert load_workflow(tmp_path) == Workflow.empty()


def test_orchestra_yaml_at_rootdir(tmp_path: Path) -> None:
    write(
        tmp_path / "orchestra.yaml",
        """\
        gates:
          min_success_rate: 0.95
        matrix:
          dimensions:
            role: [Admin, Guest]
        """,
    )
    workflow = load_workflow(tmp_path)
    assert workflow.source == "orchestra.yaml"
    assert workflow.gates == GatesSpec(min_success_rate=0.95)
    assert workflow.matrix.dimensions == {"role": ("Admin", "Guest")}


def test_empty_yaml_file_is_an_empty_workflow(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "# nothing yet\n")
    workflow = load_workflow(tmp_path)
    assert workflow.source == "orchestra.yaml"
    assert workflow.gates is None
    assert workflow.raw == {}


def test_yaml_error_names_line_and_column(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates:\n  critical: true\n  max_flaky: [1\n")
    assert error_of(tmp_path).startswith("orchestra.yaml:4:1: invalid YAML: expected ',' or ']'")


def test_yaml_error_mapping_values(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates:\n  critical: true\n  max: a: b\n")
    assert error_of(tmp_path) == (
        "orchestra.yaml:3:9: invalid YAML: mapping values are not allowed here"
    )


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates:\n  max_flaky: 0\ngates:\n  max_flaky: 1\n")
    assert error_of(tmp_path) == "orchestra.yaml:3:1: invalid YAML: duplicate key 'gates'"


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    write(
        tmp_path / "orchestra.yaml",
        """\
        apps:
          auth: &base {owner: "@team", paths: [a]}
          cart:
            <<: *base
            paths: [b]
        """,
    )
    apps = load_workflow(tmp_path).apps
    assert (apps["cart"].owner, apps["cart"].paths) == ("@team", ("b",))


def test_unsafe_yaml_tag_is_rejected(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates: !!python/object:os.system {}\n")
    message = error_of(tmp_path)
    assert message.startswith("orchestra.yaml:1:8: invalid YAML: could not determine a constructor")


def test_yaml_bad_character_is_located(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates:\n  critical: \x07\n")
    assert error_of(tmp_path) == (
        "orchestra.yaml:2:13: invalid YAML: unacceptable character #x0007:"
        " special characters are not allowed"
    )


def test_yaml_error_without_mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    def broken(*args: object, **kwargs: object) -> None:
        raise yaml.YAMLError("stream broke")

    monkeypatch.setattr(yaml, "load", broken)
    write(tmp_path / "orchestra.yaml", "gates: {}\n")
    assert error_of(tmp_path) == "orchestra.yaml: invalid YAML: stream broke"


def test_yaml_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "- gates\n- reports\n")
    assert error_of(tmp_path) == (
        "orchestra.yaml: expected a mapping of sections at the top level, got a list"
    )


def test_validation_error_names_the_yaml_file(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates:\n  min_success_rate: 95%\n")
    assert error_of(tmp_path) == (
        "orchestra.yaml: gates.min_success_rate: expected a number between 0 and 1, got '95%'"
    )


def test_undecodable_file_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "orchestra.yaml").write_bytes(b"gates: \xff\xfe\n")
    assert error_of(tmp_path).startswith("orchestra.yaml: cannot read: 'utf-8' codec can't decode")


def test_pyproject_table(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """\
        [project]
        name = "shop"

        [tool.orchestra.gates]
        max_flaky = 0
        """,
    )
    workflow = load_workflow(tmp_path)
    assert workflow.source == "pyproject.toml [tool.orchestra]"
    assert workflow.gates == GatesSpec(max_flaky=0)


def test_pyproject_table_errors_have_table_relative_paths(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.orchestra.gates]\nmax_flaky = -1\n")
    assert error_of(tmp_path) == (
        "pyproject.toml [tool.orchestra]: gates.max_flaky: expected an integer >= 0, got -1"
    )


def test_pyproject_without_the_table_is_not_a_workflow(tmp_path: Path) -> None:
    # Mentions the text but has no such table: parsed, and nothing found.
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n# see tool.orchestra docs\n')
    assert load_workflow(tmp_path) == Workflow.empty()


def test_pyproject_not_mentioning_orchestra_is_not_parsed(tmp_path: Path) -> None:
    # Invalid TOML, but never parsed because it does not mention the table.
    write(tmp_path / "pyproject.toml", "[project\n")
    assert load_workflow(tmp_path) == Workflow.empty()


def test_invalid_pyproject_toml(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.orchestra]\ngates = \n")
    # The parser's own wording varies between tomllib and tomli; the prefix is ours.
    assert error_of(tmp_path).startswith("pyproject.toml: invalid TOML: Invalid value (at line 2")


def test_yaml_and_pyproject_table_together_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates: {}\n")
    write(tmp_path / "pyproject.toml", "[tool.orchestra]\nreports = {keep = 3}\n")
    assert error_of(tmp_path) == (
        "orchestra.yaml and pyproject.toml [tool.orchestra] both define a workflow; keep one"
    )


def test_explicit_path_wins_over_both_files(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates: {max_flaky: 1}\n")
    write(tmp_path / "pyproject.toml", "[tool.orchestra.gates]\nmax_flaky = 2\n")
    explicit = write(tmp_path / "ci" / "orchestra.yaml", "gates: {max_flaky: 3}\n")
    workflow = load_workflow(tmp_path, explicit)
    assert workflow.source == "ci/orchestra.yaml"
    assert workflow.gates is not None and workflow.gates.max_flaky == 3


def test_orchestra_yaml_wins_over_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path / "orchestra.yaml", "gates: {max_flaky: 1}\n")
    write(tmp_path / "pyproject.toml", '[project]\nname = "shop"\n')
    assert load_workflow(tmp_path).source == "orchestra.yaml"


def test_explicit_relative_path_is_taken_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "ci" / "qa.yml", "reports: {keep: 2}\n")
    monkeypatch.chdir(tmp_path / "ci")
    workflow = load_workflow(tmp_path, "qa.yml")
    assert (workflow.source, workflow.reports.keep) == ("ci/qa.yml", 2)


def test_explicit_path_outside_rootdir_is_named_absolute(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "wf.yaml", "gates: {max_flaky: x}\n")
    rootdir = tmp_path / "project"
    rootdir.mkdir()
    assert error_of(rootdir, outside) == (
        f"{outside}: gates.max_flaky: expected an integer >= 0, got 'x'"
    )


def test_explicit_json_is_read_as_yaml(tmp_path: Path) -> None:
    path = write(tmp_path / "wf.json", '{"gates": {"min_success_rate": 0.5}}')
    assert load_workflow(tmp_path, path).gates == GatesSpec(min_success_rate=0.5)


def test_explicit_toml_with_table(tmp_path: Path) -> None:
    path = write(tmp_path / "ci" / "qa.toml", "[tool.orchestra.reports]\nkeep = 0\n")
    assert error_of(tmp_path, path) == (
        "ci/qa.toml [tool.orchestra]: reports.keep: expected an integer >= 1, got 0"
    )


def test_explicit_toml_without_table_is_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.toml", "[reports]\nkeep = 4\n")
    workflow = load_workflow(tmp_path, path)
    assert (workflow.source, workflow.reports.keep) == ("qa.toml", 4)


def test_explicit_invalid_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "qa.toml", "reports = [\n")
    assert error_of(tmp_path, path).startswith("qa.toml: invalid TOML: ")


def test_explicit_missing_file(tmp_path: Path) -> None:
    assert error_of(tmp_path, "nope/orchestra.yaml") == (
        "--orchestra-workflow: no such file: nope/orchestra.yaml"
    )


def test_explicit_directory_is_not_a_file(tmp_path: Path) -> None:
    assert error_of(tmp_path, tmp_path) == f"--orchestra-workflow: not a file: {tmp_path}"


def test_source_name(tmp_path: Path) -> None:
    assert source_name(tmp_path / "a" / "b.yaml", tmp_path) == "a/b.yaml"
    assert source_name(tmp_path.parent / "b.yaml", tmp_path) == str(tmp_path.parent / "b.yaml")


LAZY_IMPORT_PROBE = """
import sys
from pathlib import Path
from pytest_orchestra.workflow import load_workflow
load_workflow(Path(sys.argv[1]))
print("yaml" in sys.modules)
"""


@pytest.mark.parametrize(("with_yaml_file", "expected"), [(False, "False"), (True, "True")])
def test_yaml_is_imported_only_when_a_yaml_file_exists(
    tmp_path: Path, with_yaml_file: bool, expected: str
) -> None:
    write(tmp_path / "pyproject.toml", "[tool.orchestra.gates]\nmax_flaky = 0\n")
    if with_yaml_file:
        (tmp_path / "pyproject.toml").unlink()
        write(tmp_path / "orchestra.yaml", "gates: {}\n")
    result = subprocess.run(
        [sys.executable, "-c", LAZY_IMPORT_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=True,
    )
    assert result.stdout.strip() == expected
