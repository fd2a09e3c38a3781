"""plainclass behaves like @dataclass: same constructor, equality, hash, repr and frozenness."""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, Callable, Dict, Tuple

import pytest

from pytest_orchestra.core.plainclass import plainclass


def _both(frozen: bool) -> Tuple[type, type]:
    made = []
    for decorate in (dataclasses.dataclass(frozen=frozen), plainclass(frozen=frozen)):

        @decorate
        class Spec:
            """A record."""

            name: str
            paths: Tuple[str, ...] = ()
            extra: Dict[str, int] = field(default_factory=dict)
            note: str = field(default="", compare=False, repr=False)

        made.append(Spec)
    return made[0], made[1]


@pytest.mark.parametrize("frozen", [False, True])
def test_constructor_equality_repr_and_tools_match_dataclass(frozen: bool) -> None:
    real, plain = _both(frozen)
    for cls in (real, plain):
        spec = cls("a", ("x",), note="n")
        assert spec == cls(name="a", paths=("x",))  # note does not compare
        assert spec != cls("b")
        assert spec.extra == {} and spec.extra is not cls("a").extra
        assert dataclasses.replace(spec, name="b").name == "b"
        assert dataclasses.asdict(spec) == {"name": "a", "paths": ("x",), "extra": {}, "note": "n"}
        assert cls.__match_args__ == ("name", "paths", "extra", "note")
    assert repr(plain("a")) == repr(real("a")).replace(real.__qualname__, plain.__qualname__)
    assert (plain.__hash__ is None) is (real.__hash__ is None)


@pytest.mark.parametrize(
    "call",
    [
        lambda cls: cls(),
        lambda cls: cls("a", (), {}, "", 5),
        lambda cls: cls("a", name="b"),
        lambda cls: cls("a", unknown=1),
    ],
)
def test_bad_arguments_raise_type_error(call: Callable[[type], Any]) -> None:
    real, plain = _both(False)
    for cls in (real, plain):
        with pytest.raises(TypeError):
            call(cls)


def test_frozen_instances_refuse_changes_and_hash_by_value() -> None:
    _, plain = _both(True)
    spec = plain("a", extra=None)  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'name'"):
        spec.name = "b"
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'name'"):
        del spec.name
    assert hash(spec) == hash(plain("a", extra=None))  # type: ignore[arg-type]


def test_a_class_keeps_its_own_init_and_post_init_runs() -> None:
    @plainclass
    class Counter:
        """Counts."""

        value: int = 0

        def __init__(self, value: int = 0) -> None:
            self.value = value * 2

    assert Counter(2).value == 4

    @plainclass
    class Checked:
        value: int = 0

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(ValueError):
        Checked(-1)
    assert Checked.__doc__ == "Checked(value)"
