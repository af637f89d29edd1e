#!/usr/bin/env python3
"""nx-27017 (0.8.1, neosqlite 1.17.2) with the fidelity fixes live-check.py needs, then its main().

    python scripts/nx27017_fixes.py --db FILE --port PORT ...   (nx-27017's own arguments)

Run with an interpreter that has nx-27017 (live-check.py's venv). The fixes, each pinned by a test
in tests/test_nx27017_fixes.py against a real server:

1. an equality on an ObjectId-valued field other than ``_id`` (``{userId: ObjectId(..)}``, how
   mongoose sends every reference) never matches in neosqlite's SQL tier. ``set_force_fallback``
   makes ``find``/``findOne`` match (they run in Python then); the other operations still go
   through SQL, so each of them (count, delete, update, replace, findAndModify, aggregate's first
   ``$match``) first resolves such a filter to the matching ``_id`` values with ``find`` and runs
   on ``{_id: {$in: [...]}}``;
2. an upsert that inserts copies the filter's ObjectId values into the new document as strings
   (``findOneAndUpdate({userId, name}, .., {upsert: true})`` stored ``userId: "6b16..."``, so the
   next ``findOne({userId, name})`` missed it and the following save inserted yet another
   document): the inserted document gets the filter's ObjectId values back;
3. nx-27017 converts the wire's ObjectIds to neosqlite's in every filter but an ``aggregate``
   pipeline, so ``countDocuments`` (the drivers send it as ``$match`` + ``$group``) counted 0 for
   any ObjectId, ``_id`` included: the pipeline is converted too;
4. a compound index naming ``_id`` (v0.8.7's conversations: ``{user, chatProjectId, updatedAt, _id}``)
   becomes ``json_extract(data, '_id')``, an invalid JSON path, so every insert and update of that
   collection failed ("JSON path error near '_id'": no conversation was ever saved): ``_id`` is
   left out of such a key (a unique one is not created: with ``_id`` in it, it constrained nothing).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

FIXED_METHODS = (
    "find",
    "find_one",
    "count_documents",
    "delete_one",
    "delete_many",
    "update_one",
    "update_many",
    "replace_one",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
)
UPSERTING = {"update_one", "update_many", "replace_one", "find_one_and_update", "find_one_and_replace"}


def _is_objectid(value: Any) -> bool:
    return type(value).__name__ == "ObjectId"


def needs_resolving(query: Any) -> bool:
    """Whether a filter compares a field other than ``_id`` with an ObjectId (directly or with $eq/$ne)."""
    if not isinstance(query, dict):
        return False
    for field, value in query.items():
        if field in ("$and", "$or", "$nor") and isinstance(value, list):
            if any(needs_resolving(part) for part in value):
                return True
        elif field.startswith("$") or field == "_id":
            continue
        elif _is_objectid(value):
            return True
        elif isinstance(value, dict) and any(_is_objectid(value.get(op)) for op in ("$eq", "$ne")):
            return True
    return False


def objectid_equalities(query: dict[str, Any]) -> dict[str, Any]:
    """The top-level ``field: ObjectId`` pairs of a filter (what an upsert copies into the new document)."""
    return {field: value for field, value in query.items() if not field.startswith("$") and field != "_id" and _is_objectid(value)}


def split_objectid_equalities(query: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({field: ObjectId ...}, the rest)``: the part only the Python tier matches, and what SQL may run."""
    equal = {}
    rest = {}
    for field, value in query.items():
        plain = not field.startswith("$") and field != "_id"
        if plain and _is_objectid(value):
            equal[field] = value
        elif plain and isinstance(value, dict) and list(value) == ["$eq"] and _is_objectid(value["$eq"]):
            equal[field] = value["$eq"]
        else:
            rest[field] = value
    return equal, rest


def _resolved(collection: Any, query: dict[str, Any], session: Any) -> dict[str, Any]:
    """The filter with its ObjectId equalities replaced by the ``_id`` values they match."""
    equal, rest = split_objectid_equalities(query)
    if not equal:  # only inside $and/$or or as $ne: resolve the whole filter in Python
        equal, rest = query, {}
    ids = {"_id": {"$in": [doc["_id"] for doc in _find(collection, equal, session)]}}
    if not rest:
        return ids
    return {"$and": [rest, ids]} if "_id" in rest else {**rest, **ids}


def _find(collection: Any, query: dict[str, Any], session: Any) -> list[dict[str, Any]]:
    find = _ORIGINAL.get("find", type(collection).find)
    kwargs = {"session": session} if session is not None else {}
    try:
        return list(find(collection, query, {"_id": 1}, **kwargs))
    except TypeError:  # a find without session
        return list(find(collection, query, {"_id": 1}))


def _restore_objectids(collection: Any, inserted_id: Any, equalities: dict[str, Any]) -> None:
    if inserted_id is not None and equalities:
        _ORIGINAL["update_one"](collection, {"_id": inserted_id}, {"$set": equalities})


_ORIGINAL: dict[str, Any] = {}


def _wrap(name: str, original: Any) -> Any:
    @functools.wraps(original)
    def method(self: Any, filter: Any = None, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - neosqlite's name
        try:
            if not needs_resolving(filter):
                return original(self, filter, *args, **kwargs)
            return _fixed(name, original, self, filter, *args, **kwargs)
        except Exception as exc:  # neosqlite's own error, named in the server log (never the values)
            shape = {op: list(fields) for op, fields in args[0].items() if isinstance(fields, dict)} if args and isinstance(args[0], dict) else ""
            print(f"nx27017_fixes: {name} on {list(filter or {})} {shape} failed: {type(exc).__name__}: {str(exc)[:200]}", file=sys.stderr, flush=True)
            raise

    return method


def _fixed(name: str, original: Any, self: Any, filter: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    resolved = _resolved(self, filter, kwargs.get("session"))
    if name in UPSERTING and kwargs.get("upsert"):
        if _ORIGINAL["find_one"](self, resolved) is None:
            return _upsert(name, original, self, filter, *args, **kwargs)
        kwargs["upsert"] = False
    return original(self, resolved, *args, **kwargs)


def _upsert(name: str, original: Any, self: Any, filter: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """Nothing matches: the original inserts (from the original filter), then the ObjectIds go back (fix 2)."""
    equalities = objectid_equalities(filter)
    result = original(self, filter, *args, **kwargs)
    inserted = getattr(result, "upserted_id", None)
    if name.startswith("find_one_and"):
        inserted = result.get("_id") if isinstance(result, dict) else None
        if inserted is None:  # it returned the document before (None): find what was inserted
            as_strings = {field: str(value) for field, value in equalities.items()}
            rest = {k: v for k, v in filter.items() if k not in as_strings and not k.startswith("$")}
            found = _ORIGINAL["find_one"](self, {**rest, **as_strings})
            inserted = found["_id"] if found else None
        elif isinstance(result, dict):
            result.update(equalities)
    _restore_objectids(self, inserted, equalities)
    return result


def _wrap_aggregate(original: Any) -> Any:
    @functools.wraps(original)
    def aggregate(self: Any, pipeline: Any, *args: Any, **kwargs: Any) -> Any:
        pipeline = _neo_objectids(pipeline)
        if pipeline and isinstance(pipeline[0], dict) and needs_resolving(pipeline[0].get("$match")):
            pipeline = [{"$match": _resolved(self, pipeline[0]["$match"], kwargs.get("session"))}, *pipeline[1:]]
        return original(self, pipeline, *args, **kwargs)

    return aggregate


def compound_key_without_id(key: Any) -> Any:
    """A compound index key with ``_id`` dropped (neosqlite writes ``json_extract(data, '_id')`` for it,
    an invalid JSON path that then fails every insert and update of the collection); others unchanged."""
    if not isinstance(key, list) or len(key) < 2:
        return key
    kept = [part for part in key if (part[0] if isinstance(part, tuple | list) else part) != "_id"]
    return kept if len(kept) != len(key) else key


def _wrap_create_index(original: Any) -> Any:
    @functools.wraps(original)
    def create_index(self: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
        fixed = compound_key_without_id(key)
        if fixed is not key and kwargs.get("unique"):  # unique with _id is no constraint: none at all
            return kwargs.get("name") or "_".join(str(part[0] if isinstance(part, tuple | list) else part) for part in key)
        return original(self, fixed, *args, **kwargs)

    return create_index


def _neo_objectids(pipeline: Any) -> Any:
    try:
        from nx_27017.utils import convert_bson_to_neo_objectids
    except ImportError:  # neosqlite without the server: nothing to convert
        return pipeline
    return convert_bson_to_neo_objectids(pipeline)


def apply() -> list[str]:
    """Applies every fix to neosqlite (idempotent); answers what was applied."""
    from neosqlite.collection import Collection
    from neosqlite.collection.query_helper import utils

    utils.set_force_fallback(True)
    applied = ["set_force_fallback(True): find/findOne match ObjectId equalities"]
    if getattr(Collection, "_dynmodels_fixed", False):
        return applied
    for name in FIXED_METHODS:
        _ORIGINAL[name] = getattr(Collection, name)
        setattr(Collection, name, _wrap(name, _ORIGINAL[name]))
    _ORIGINAL["aggregate"] = Collection.aggregate
    Collection.aggregate = _wrap_aggregate(Collection.aggregate)
    Collection.create_index = _wrap_create_index(Collection.create_index)
    Collection._dynmodels_fixed = True
    applied.append("ObjectId equalities resolved to _id for " + ", ".join((*FIXED_METHODS, "aggregate $match")))
    applied.append("upserts keep the filter's ObjectId values")
    applied.append("aggregate pipelines get neosqlite ObjectIds (nx-27017 converts every filter but these)")
    applied.append("compound indexes without their _id part (its JSON path broke every write)")
    return applied


def main() -> int:
    for line in apply():
        print(f"nx27017_fixes: {line}", file=sys.stderr, flush=True)
    from nx_27017.nx_27017 import main as nx_main

    sys.argv[0] = "nx-27017"
    result = nx_main()
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
