"""Typed records: reading a JSON object into a frozen dataclass, field by field, with errors that
name the file and the field.

A record class lists its fields with their types; :func:`from_json` checks that every field
without a default is present and that every value has its field's type, and refuses keys the
class does not know (a renamed key is an error, not a silent default). Only the few types the
files use are understood: ``str``, ``int``, ``float`` (an int is accepted), ``bool``, ``list``,
``dict``, ``Any``, ``Literal[...]`` and ``X | None``; and a record nested in a record, alone
(``Rung``, ``Rung | None``) or as a list (``list[Rung]``), read and written as its JSON object.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from chessformer.utils import UserError

__all__ = ["Record", "RecordError", "from_json", "to_json"]

R = TypeVar("R")


class RecordError(UserError):
    """A stage file holds a record this version cannot read (one line: where, which field)."""


def _accepts(kind: Any, value: Any) -> bool:
    if kind is Any:
        return True
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return any(_accepts(k, value) for k in typing.get_args(kind))
    if kind is type(None):
        return value is None
    if typing.get_origin(kind) is typing.Literal:
        return value in typing.get_args(kind)
    origin = typing.get_origin(kind) or kind
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin)


def _type_name(kind: Any) -> str:
    return str(kind).replace("typing.", "").replace("<class '", "").replace("'>", "")


@functools.cache
def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field]]:
    """A record class's field types and fields, resolved once (a file has many records)."""
    return (typing.get_type_hints(cls),
            {f.name: f for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


def from_json(cls: type[R], data: Any, where: str) -> R:
    """``cls`` (a dataclass) from ``data``; :class:`RecordError` naming ``where`` and the field
    that is missing, unknown or of the wrong type."""
    if not isinstance(data, Mapping):
        raise RecordError(f"{where}: expected a JSON object, got {type(data).__name__}")
    hints, fields = _schema(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RecordError(f"{where}: unknown field {unknown[0]!r} in a {cls.__name__} (this "
                          f"chessformer reads {', '.join(fields)})")
    values = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RecordError(f"{where}: {cls.__name__} has no field {name!r}")
            continue
        values[name] = _field_value(cls, name, hints[name], data[name], where)
    return cls(**values)


def _record_class(kind: Any) -> type | None:
    """The record class ``kind`` names (a dataclass), or None."""
    return kind if isinstance(kind, type) and dataclasses.is_dataclass(kind) else None


def _field_value(cls: type, name: str, kind: Any, value: Any, where: str) -> Any:
    """A field's value read from JSON: nested records built, the rest type-checked."""
    args = [k for k in typing.get_args(kind) if k is not type(None)]
    optional = len(args) == 1 and len(typing.get_args(kind)) == 2
    inner = args[0] if optional else kind
    if (nested := _record_class(inner)) is not None and not (optional and value is None):
        return from_json(nested, value, f"{where}: {name}")
    if (typing.get_origin(inner) is list and len(typing.get_args(inner)) == 1
            and (nested := _record_class(typing.get_args(inner)[0])) is not None
            and isinstance(value, list)):
        return [from_json(nested, v, f"{where}: {name}[{i}]") for i, v in enumerate(value)]
    if not _accepts(kind, value):
        raise RecordError(f"{where}: field {name!r} of a {cls.__name__} should be "
                          f"{_type_name(kind)}, got {value!r:.60}")
    return value


def _plain(value: Any) -> Any:
    """A field's JSON value: a nested record (or a list of them) as its object."""
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, list) and value and isinstance(value[0], Record):
        return [v.to_json() for v in value]
    return value


def to_json(record: Any, *, omit_none: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record's fields in declaration order; the fields in ``omit_none`` only when set."""
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)
            if not (f.name in omit_none and getattr(record, f.name) is None)}


class Record:
    """Mixed into a record dataclass: ``from_json``/``to_json`` by :func:`from_json` and
    :func:`to_json`, leaving out the fields named in ``OMIT_NONE`` while they are ``None``."""

    OMIT_NONE: typing.ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_json(cls, data: Any, where: str) -> Any:
        return from_json(cls, data, where)

    def to_json(self) -> dict[str, Any]:
        return to_json(self, omit_none=self.OMIT_NONE)
