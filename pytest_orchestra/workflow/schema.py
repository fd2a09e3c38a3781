"""A tiny declarative schema language for the workflow file.

Each node both validates plain data (as PyYAML, tomllib or a Python caller
produce it) and describes itself as Draft 2020-12 JSON Schema, so the shipped
``workflow.schema.json`` cannot drift from what the validator accepts.

Validation stops at the first problem, walking the data in document order, and
raises :class:`SchemaViolation` with the key path (``matrix.exclude[1].role``)
and a message; the caller adds the file name to make a :class:`WorkflowError`
(both, and the wording of messages, are :mod:`~pytest_orchestra.workflow.errors`;
capability schemas import them from here with the nodes).
No pytest import here: this is pure logic.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from pytest_orchestra.core.plainclass import plainclass

from .errors import (
    SchemaViolation,
    expected_error,
    index_path,
    key_path,
    unknown_key_error,
)

JsonSchema = Dict[str, Any]

#: A missing default: the key is simply absent from the validated mapping.
NO_DEFAULT: Any = object()


def _with_null(schema: JsonSchema) -> JsonSchema:
    kind = schema["type"]
    schema["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
    return schema


class Node:
    """Base of all schema nodes: ``validate`` converts or raises, ``json_schema`` describes."""

    expected: str = "a value"
    description: str = ""

    def validate(self, value: Any, path: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def json_schema(self) -> JsonSchema:  # pragma: no cover - abstract
        raise NotImplementedError

    def described(self, schema: JsonSchema) -> JsonSchema:
        if self.description:
            return {"description": self.description, **schema}
        return schema


class Bool(Node):
    expected = "true or false"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def validate(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise expected_error(path, self.expected, value)
        return value

    def json_schema(self) -> JsonSchema:
        return self.described({"type": "boolean"})


class Int(Node):
    def __init__(self, minimum: int = 0, description: str = "") -> None:
        self.minimum = minimum
        self.expected = f"an integer >= {minimum}"
        self.description = description

    def validate(self, value: Any, path: str) -> int:
        # bool is an int subclass: ``true`` must not pass as 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            raise expected_error(path, self.expected, value)
        return value

    def json_schema(self) -> JsonSchema:
        return self.described({"type": "integer", "minimum": self.minimum})


class Number(Node):
    def __init__(self, minimum: float, maximum: float, description: str = "") -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.expected = f"a number between {minimum:g} and {maximum:g}"
        self.description = description

    def validate(self, value: Any, path: str) -> float:
        ok = (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and math.isfinite(value)
            and self.minimum <= value <= self.maximum
        )
        if not ok:
            raise expected_error(path, self.expected, value)
        return float(value)

    def json_schema(self) -> JsonSchema:
        return self.described({"type": "number", "minimum": self.minimum, "maximum": self.maximum})


class Str(Node):
    """A string, optionally non-empty or matching a full-match regular expression."""

    def __init__(
        self,
        description: str = "",
        *,
        pattern: Optional[str] = None,
        non_empty: bool = False,
        expected: Optional[str] = None,
    ) -> None:
        self.description = description
        # Compiled on first use: dozens of these are built on every start, most never validate.
        self._pattern_text = pattern or None
        self._pattern: Optional[re.Pattern[str]] = None
        self.non_empty = non_empty
        self.expected = expected or ("a non-empty string" if non_empty else "a string")

    @property
    def pattern(self) -> Optional[re.Pattern[str]]:
        """The full-match pattern, compiled, or ``None``."""
        if self._pattern is None and self._pattern_text is not None:
            self._pattern = re.compile(self._pattern_text)
        return self._pattern

    def validate(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or (self.non_empty and not value):
            raise expected_error(path, self.expected, value)
        pattern = self.pattern  # compiled here, on the first string it checks
        if pattern is not None and not pattern.fullmatch(value):
            raise expected_error(path, self.expected, value)
        return value

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "string"}
        if self.non_empty:
            schema["minLength"] = 1
        if self.pattern is not None:
            schema["pattern"] = f"^{self.pattern.pattern}$"
        return self.described(schema)


def scalar_text(value: object) -> str:
    """A matrix value as text; YAML booleans keep their YAML spelling."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Scalar(Node):
    """A string, integer or boolean, kept as text (matrix values)."""

    expected = "a string, integer or boolean"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def validate(self, value: Any, path: str) -> str:
        if not isinstance(value, (str, int)):  # bool is an int
            raise expected_error(path, self.expected, value)
        return scalar_text(value)

    def json_schema(self) -> JsonSchema:
        return self.described({"type": ["string", "integer", "boolean"]})


class AnyMapping(Node):
    """Free-form data: a mapping of anything, or null (read as an empty mapping)."""

    expected = "a mapping"

    def __init__(self, description: str = "") -> None:
        self.description = description

    def validate(self, value: Any, path: str) -> Dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise expected_error(path, self.expected, value)
        return dict(value)

    def json_schema(self) -> JsonSchema:
        return self.described({"type": ["object", "null"]})


class ListOf(Node):
    """A list of items; with ``unique`` a repeated (converted) item is an error."""

    def __init__(
        self,
        item: Node,
        description: str = "",
        *,
        expected: str = "a list",
        min_items: int = 0,
        unique: bool = False,
    ) -> None:
        self.item = item
        self.description = description
        self.expected = expected
        self.min_items = min_items
        self.unique = unique

    def validate(self, value: Any, path: str) -> Tuple[Any, ...]:
        if not isinstance(value, (list, tuple)) or len(value) < self.min_items:
            raise expected_error(path, self.expected, value)
        items = []
        for index, raw in enumerate(value):
            item = self.item.validate(raw, index_path(path, index))
            if self.unique and item in items:
                raise SchemaViolation(index_path(path, index), f"duplicate value {item!r}")
            items.append(item)
        return tuple(items)

    def json_schema(self) -> JsonSchema:
        schema: JsonSchema = {"type": "array", "items": self.item.json_schema()}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.unique:
            schema["uniqueItems"] = True
        return self.described(schema)


class MapOf(Node):
    """A mapping whose keys are names (validated by ``key``) and values all alike."""

    def __init__(
        self,
        key: Node,
        value: Node,
        description: str = "",
        *,
        expected: str = "a mapping",
        min_items: int = 0,
        check: Optional[Callable[[Dict[str, Any], str], None]] = None,
    ) -> None:
        self.key = key
        self.value = value
        self.description = description
        self.expected = expected
        self.min_items = min_items
        self.check = check

    def validate(self, value: Any, path: str) -> Dict[str, Any]:
        if value is None and not self.min_items:
            return {}
        if not isinstance(value, Mapping) or len(value) < self.min_items:
            raise expected_error(path, self.expected, value)
        result: Dict[str, Any] = {}
        for raw_key, raw_value in value.items():
            item_path = key_path(path, raw_key)
            name = self.key.validate(raw_key, item_path)
            result[name] = self.value.validate(raw_value, item_path)
        if self.check is not None:
            self.check(result, path)
        return result

    def json_schema(self) -> JsonSchema:
        key_schema = {k: v for k, v in self.key.json_schema().items() if k != "description"}
        key_schema.pop("type", None)  # property names are always strings in JSON
        schema: JsonSchema = {"type": "object", "additionalProperties": self.value.json_schema()}
        if key_schema:
            schema["propertyNames"] = key_schema
        if self.min_items:
            schema["minProperties"] = self.min_items
        else:
            _with_null(schema)
        return self.described(schema)


class ByShape(Node):
    """One of several forms, chosen by the shape of the value (list, mapping or scalar)."""

    def __init__(
        self,
        expected: str,
        description: str = "",
        *,
        list_form: Optional[Node] = None,
        mapping_form: Optional[Node] = None,
        scalar_form: Optional[Node] = None,
    ) -> None:
        self.expected = expected
        self.description = description
        self.forms = (list_form, mapping_form, scalar_form)

    def validate(self, value: Any, path: str) -> Any:
        list_form, mapping_form, scalar_form = self.forms
        if isinstance(value, (list, tuple)):
            form = list_form
        elif isinstance(value, Mapping):
            form = mapping_form
        else:
            form = scalar_form
        if form is None:
            raise expected_error(path, self.expected, value)
        return form.validate(value, path)

    def json_schema(self) -> JsonSchema:
        return self.described({"oneOf": [form.json_schema() for form in self.forms if form]})


@plainclass(frozen=True)
class Field:
    """One key of a :class:`Record`: its node and, when optional, its default."""

    node: Node
    default: Any = NO_DEFAULT
    nullable: bool = False


#: A cross-field check run on a record's validated value, with the record's path.
RecordCheck = Callable[[Dict[str, Any], str], None]


class Record(Node):
    """A mapping with known keys; unknown keys are errors unless ``extra`` takes them.

    Null reads as an empty mapping, so ``gates:`` alone means "gates, all defaults".
    Defaults are filled in the validated value; ``check`` runs last, for rules that
    relate several keys.
    """

    expected = "a mapping"

    def __init__(
        self,
        fields: Mapping[str, Field],
        description: str = "",
        *,
        extra: Optional[Node] = None,
        check: Optional[RecordCheck] = None,
        json_extra: Optional[JsonSchema] = None,
    ) -> None:
        self.fields = dict(fields)
        self.description = description
        self.extra = extra
        self.check = check
        self.json_extra = json_extra or {}

    def validate(self, value: Any, path: str) -> Dict[str, Any]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise expected_error(path, self.expected, value)
        result: Dict[str, Any] = {}
        for raw_key, raw_value in value.items():
            name = str(raw_key)
            field = self.fields.get(name) if isinstance(raw_key, str) else None
            if field is not None:
                if raw_value is None and field.nullable:
                    result[name] = None
                else:
                    result[name] = field.node.validate(raw_value, key_path(path, name))
            elif self.extra is not None:
                result[name] = self.extra.validate(raw_value, key_path(path, name))
            else:
                raise unknown_key_error(path, name, list(self.fields))
        for name, field in self.fields.items():
            if name not in result and field.default is not NO_DEFAULT:
                result[name] = field.default
        if self.check is not None:
            self.check(result, path)
        return result

    def json_schema(self) -> JsonSchema:
        properties: JsonSchema = {}
        for name, field in self.fields.items():
            schema = field.node.json_schema()
            if field.nullable:
                schema = {**schema, "type": _with_null(dict(schema))["type"]}
            if field.default is not NO_DEFAULT:
                default = field.default
                schema["default"] = list(default) if isinstance(default, tuple) else default
            properties[name] = schema
        result: JsonSchema = {
            "type": ["object", "null"],
            "properties": properties,
            "additionalProperties": self.extra.json_schema() if self.extra else False,
            **self.json_extra,
        }
        return self.described(result)
