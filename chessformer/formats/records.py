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
import os
import types
import typing
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from chessformer.formats import read_json, read_json_or_empty
from chessformer.utils import UserError, write_json_atomic

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


_SCHEMAS: dict[type, tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]] = {}


def _schema(cls: type) -> tuple[dict[str, Any], dict[str, dataclasses.Field[Any]]]:
    """A record class's field types and fields, resolved once (a file has many records)."""
    if cls not in _SCHEMAS:
        _SCHEMAS[cls] = (typing.get_type_hints(cls),
                         {f.name: f for f in dataclasses.fields(cls)})
    return _SCHEMAS[cls]


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


@functools.cache
def _nests(kind: Any) -> bool:
    """Whether a field of type ``kind`` holds records (alone, optional, in a list or dict)."""
    return _record_class(kind) is not None or any(_nests(k) for k in typing.get_args(kind))


def _read(kind: Any, value: Any, where: str) -> Any:
    """A value of type ``kind`` that holds records, built from JSON."""
    if (cls := _record_class(kind)) is not None:
        return from_json(cls, value, where)
    args = typing.get_args(kind)
    if type(None) in args and value is None:
        return None
    if type(None) in args:
        (inner,) = [k for k in args if k is not type(None)]
        return _read(inner, value, where)
    origin = typing.get_origin(kind)
    if origin is list and isinstance(value, list):
        return [_read(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict and isinstance(value, Mapping):
        return {k: _read(args[1], v, f"{where}[{k!r}]") for k, v in value.items()}
    raise RecordError(f"{where}: should be {_type_name(kind)}, got {value!r:.60}")


def _field_value(cls: type, name: str, kind: Any, value: Any, where: str) -> Any:
    """A field's value read from JSON: nested records built, the rest type-checked."""
    if _nests(kind):
        return _read(kind, value, f"{where}: {name}")
    if not _accepts(kind, value):
        raise RecordError(f"{where}: field {name!r} of a {cls.__name__} should be "
                          f"{_type_name(kind)}, got {value!r:.60}")
    return value


def _plain(value: Any) -> Any:
    """A value that holds records, as JSON (each record as its object)."""
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_json(record: Any, *, omit_none: tuple[str, ...] = ()) -> dict[str, Any]:
    """The record's fields in declaration order; the fields in ``omit_none`` only when set."""
    hints, fields = _schema(type(record))
    out = {}
    for name in fields:
        value = getattr(record, name)
        if value is None and name in omit_none:
            continue
        out[name] = _plain(value) if _nests(hints[name]) else value
    return out


class Record:
    """Mixed into a record dataclass: ``from_json``/``to_json`` by :func:`from_json` and
    :func:`to_json`, leaving out the fields named in ``OMIT_NONE`` while they are ``None``."""

    OMIT_NONE: typing.ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_json(cls, data: Any, where: str) -> Self:
        return from_json(cls, data, where)

    @classmethod
    def load(cls, path: str | os.PathLike[str], what: str) -> Self:
        """The record in the JSON file ``path``; a one-line error naming ``what`` and the file
        if it is missing, not JSON, or not this record."""
        return from_json(cls, read_json(path, what), str(path))

    @classmethod
    def load_if_any(cls, path: str | os.PathLike[str], what: str) -> Self | None:
        """Like :meth:`load`, but None for a missing or damaged file (damaged: with a warning);
        a valid JSON file that is not this record is still an error."""
        raw = read_json_or_empty(path, what)
        return from_json(cls, raw, str(path)) if raw else None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the record to ``path`` as indented JSON, atomically."""
        write_json_atomic(path, self.to_json())

    def to_json(self) -> dict[str, Any]:
        return to_json(self, omit_none=self.OMIT_NONE)
