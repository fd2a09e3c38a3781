"""Dataclasses without generated source, for records made a handful of times per run.

``@dataclass`` writes each class's ``__init__``, ``__repr__``, ``__eq__`` (and,
frozen, ``__hash__``, ``__setattr__``, ``__delattr__``) as source text and
compiles it: 2-4 million instructions per class at import. The plugin defines
about thirty such classes, and a suite that never uses the plugin's features
still imports most of them, so that compiling was a fifth of what the plugin
cost such a suite. :func:`plainclass` gives the same class (still a dataclass
to :func:`dataclasses.fields`, ``replace`` and ``asdict``; the same equality,
hash, repr, frozenness and constructor) with the methods as shared closures
instead. They run a little slower per call, so records made once per test keep
``@dataclass`` or write their ``__init__`` by hand (a class that defines its own
``__init__`` keeps it).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    try:
        from typing import dataclass_transform
    except ImportError:  # Python 3.10: only type checkers read the marker

        def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
            return lambda function: function

_T = TypeVar("_T", bound=type)

_MISSING = dataclasses.MISSING


@overload
@dataclass_transform(field_specifiers=(dataclasses.field,))
def plainclass(cls: _T) -> _T: ...


@overload
@dataclass_transform(field_specifiers=(dataclasses.field,))
def plainclass(*, frozen: bool = False) -> Callable[[_T], _T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field,))
def plainclass(cls: Optional[_T] = None, *, frozen: bool = False) -> Any:
    """``@dataclass`` / ``@dataclass(frozen=True)`` without compiling source."""

    def wrap(cls: _T) -> _T:
        return _process(cls, frozen)

    return wrap if cls is None else wrap(cls)


def _process(cls: _T, frozen: bool) -> _T:
    if not cls.__doc__:
        # dataclass would build one with inspect.signature, which is slow.
        cls.__doc__ = f"{cls.__name__}({', '.join(cls.__dict__.get('__annotations__', {}))})"
    own_init = "__init__" in cls.__dict__
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)  # type: ignore[assignment]
    fields = dataclasses.fields(cls)
    init_fields = tuple(f for f in fields if f.init)
    names = tuple(f.name for f in init_fields)
    defaults: Dict[str, Any] = {}
    factories: Dict[str, Callable[[], Any]] = {}
    for f in init_fields:
        if f.default is not _MISSING:
            defaults[f.name] = f.default
        elif f.default_factory is not _MISSING:
            factories[f.name] = f.default_factory
    compared = tuple(f.name for f in fields if f.compare)
    shown = tuple(f.name for f in fields if f.repr)
    field_names = frozenset(f.name for f in fields)
    qualname = cls.__qualname__
    post_init = getattr(cls, "__post_init__", None)
    count = len(names)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > count:
            raise TypeError(f"{qualname}.__init__() takes {count + 1} positional arguments but {len(args) + 1} were given")
        values = dict(zip(names, args))
        for name, value in kwargs.items():
            if name in values:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument {name!r}")
            if name not in field_names or name not in names:
                raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument {name!r}")
            values[name] = value
        if len(values) < count:
            for name in names:
                if name in values:
                    continue
                if name in defaults:
                    values[name] = defaults[name]
                elif name in factories:
                    values[name] = factories[name]()
                else:
                    raise TypeError(f"{qualname}.__init__() missing 1 required positional argument: {name!r}")
        self.__dict__.update(values)
        if post_init is not None:
            post_init(self)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({inner})"

    def _key(self: Any) -> Tuple[Any, ...]:
        return tuple([getattr(self, name) for name in compared])

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return _key(self) == _key(other)
        return NotImplemented

    if not own_init:
        _attach(cls, "__init__", __init__)
    if "__repr__" not in cls.__dict__:
        _attach(cls, "__repr__", __repr__)
    if "__eq__" not in cls.__dict__:
        _attach(cls, "__eq__", __eq__)
        if frozen:
            if "__hash__" not in cls.__dict__ or cls.__dict__["__hash__"] is None:

                def __hash__(self: Any) -> int:
                    return hash(_key(self))

                _attach(cls, "__hash__", __hash__)
        elif "__hash__" not in cls.__dict__:
            cls.__hash__ = None  # type: ignore[assignment]  # as dataclass does for a mutable eq class
    if frozen:

        def __setattr__(self: Any, name: str, value: Any) -> None:
            if type(self) is cls or name in field_names:
                raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
            object.__setattr__(self, name, value)

        def __delattr__(self: Any, name: str) -> None:
            if type(self) is cls or name in field_names:
                raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
            object.__delattr__(self, name)

        _attach(cls, "__setattr__", __setattr__)
        _attach(cls, "__delattr__", __delattr__)
    return cls


def _attach(cls: type, name: str, function: Callable[..., Any]) -> None:
    function.__qualname__ = f"{cls.__qualname__}.{name}"
    setattr(cls, name, function)
