"""Finding and reading the workflow file.

Precedence: an explicit ``--orchestra-workflow`` path, else ``orchestra.yaml``
at the rootdir, else ``[tool.orchestra]`` in the rootdir's ``pyproject.toml``
(both at once is an error), else the empty workflow. PyYAML is imported only
when a YAML file is actually read, and pyproject.toml is only parsed when its
text mentions ``tool.orchestra``: most runs have no workflow file, and startup
time matters.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from .errors import WorkflowError
from .model import Workflow

WORKFLOW_FILE = "orchestra.yaml"
PYPROJECT_FILE = "pyproject.toml"
TABLE_SUFFIX = " [tool.orchestra]"
EXPLICIT_OPTION = "--orchestra-workflow"
TOML_SUFFIXES = (".toml",)


def load_workflow(rootdir: Path, explicit: Union[str, Path, None] = None) -> Workflow:
    """The workflow for a run at ``rootdir``; raises :class:`WorkflowError`.

    A relative ``explicit`` path is taken from the current directory, as a
    command-line path is.
    """
    rootdir = Path(rootdir)
    if explicit is not None:
        return _load_explicit(rootdir, explicit)
    yaml_path = rootdir / WORKFLOW_FILE
    table = _pyproject_table(rootdir / PYPROJECT_FILE)
    if yaml_path.is_file():
        if table is not None:
            raise WorkflowError(
                "",
                "",
                f"{WORKFLOW_FILE} and {PYPROJECT_FILE}{TABLE_SUFFIX} both define a workflow;"
                " keep one",
            )
        return _from_yaml(yaml_path, source_name(yaml_path, rootdir))
    if table is not None:
        return Workflow.from_dict(table, source=PYPROJECT_FILE + TABLE_SUFFIX)
    return Workflow.empty()


def source_name(path: Path, rootdir: Path) -> str:
    """``path`` relative to the rootdir when inside it (POSIX style), else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(os.path.abspath(rootdir)).as_posix()
    except ValueError:
        return str(absolute)


def _load_explicit(rootdir: Path, explicit: Union[str, Path]) -> Workflow:
    path = Path(explicit)
    if not path.is_file():
        reason = "not a file" if path.exists() else "no such file"
        raise WorkflowError(EXPLICIT_OPTION, "", f"{reason}: {explicit}")
    name = source_name(path, rootdir)
    if path.suffix.lower() in TOML_SUFFIXES:
        document = _read_toml(path, name)
        table = _orchestra_table(document)
        if table is not None:
            return Workflow.from_dict(table, source=name + TABLE_SUFFIX)
        return Workflow.from_dict(document, source=name)
    # .yaml, .yml, and .json (JSON is YAML) alike.
    return _from_yaml(path, name)


def _read_text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WorkflowError(name, "", f"cannot read: {err}") from None


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def _read_toml(path: Path, name: str, text: Optional[str] = None) -> Dict[str, Any]:
    tomllib = _toml_module()
    try:
        document: Dict[str, Any] = tomllib.loads(_read_text(path, name) if text is None else text)
        return document
    except tomllib.TOMLDecodeError as err:
        raise WorkflowError(name, "", f"invalid TOML: {err}") from None


def _orchestra_table(document: Dict[str, Any]) -> Optional[Any]:
    tool = document.get("tool")
    if isinstance(tool, dict) and "orchestra" in tool:
        return tool["orchestra"]
    return None


def _pyproject_table(path: Path) -> Optional[Any]:
    if not path.is_file():
        return None
    text = _read_text(path, PYPROJECT_FILE)
    if "tool.orchestra" not in text:
        return None
    return _orchestra_table(_read_toml(path, PYPROJECT_FILE, text))


def _from_yaml(path: Path, name: str) -> Workflow:
    data = _parse_yaml(_read_text(path, name), name)
    return Workflow.from_dict({} if data is None else data, source=name)


def _parse_yaml(text: str, name: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_strict_loader())
    except yaml.reader.ReaderError as err:
        # Bad characters come with a character offset, not a line mark.
        line = text.count("\n", 0, err.position) + 1
        column = err.position - text.rfind("\n", 0, err.position)
        problem = f"unacceptable character #x{err.character:04x}: {err.reason}"
        raise WorkflowError(name, "", f"invalid YAML: {problem}", line=line, column=column) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        raise WorkflowError(
            name,
            "",
            f"invalid YAML: {problem}",
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
        ) from None


def _strict_loader() -> type:
    """A SafeLoader that rejects duplicate keys, which PyYAML silently overwrites.

    Built per call rather than cached: a cached class would keep raising the
    exception types of a ``yaml`` module that was since re-imported (pytester
    restores ``sys.modules`` between in-process runs), which no handler catches.
    """
    import yaml

    merge_tag = "tag:yaml.org,2002:merge"

    class StrictSafeLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: Dict[Tuple[str, str], bool] = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == merge_tag:
                    continue
                identity = (key_node.tag, key_node.value)
                if identity in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"duplicate key {key_node.value!r}",
                        key_node.start_mark,
                    )
                seen[identity] = True
            return super().construct_mapping(node, deep=deep)

    return StrictSafeLoader
