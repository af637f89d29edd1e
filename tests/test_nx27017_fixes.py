"""scripts/nx27017_fixes.py: each fidelity fix of nx-27017 pinned against a real server on 127.0.0.1.

Runs when an interpreter with nx-27017 is found (live-check.py's venv, ``DYNMODELS_LIVE_VENV``, or
this one) and pymongo is importable here; skips with the reason otherwise. With
``DYNMODELS_NX_UNFIXED=1`` the same tests run against plain nx-27017 (that is how each was seen
failing before its fix).
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from checklib import Processes, free_port  # noqa: E402

pymongo = pytest.importorskip("pymongo", reason="pymongo is not installed (pip install -e '.[dev]')")
from bson import ObjectId  # noqa: E402
from pymongo import ReturnDocument  # noqa: E402

LIVE_VENV = Path(os.environ.get("DYNMODELS_LIVE_VENV", Path.home() / ".cache/librechat-dynmodels/live-venv"))


def nx_python() -> str | None:
    for python in (str(LIVE_VENV / "bin/python"), sys.executable):
        if Path(python).exists():
            probe = subprocess.run([python, "-c", "import nx_27017.nx_27017"], capture_output=True, check=False)
            if probe.returncode == 0:
                return python
    return None


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    python = nx_python()
    if python is None:
        pytest.skip(f"nx-27017 is not installed (python scripts/live-check.py --setup creates {LIVE_VENV})")
    work = tmp_path_factory.mktemp("nx")
    port = free_port()
    launcher = (
        ["-m", "nx_27017.nx_27017"]
        if os.environ.get("DYNMODELS_NX_UNFIXED")
        else [str(ROOT / "scripts/nx27017_fixes.py")]
    )
    argv = [
        python,
        *launcher,
        "--db",
        str(work / "t.db"),
        "--port",
        str(port),
        "--log-file",
        str(work / "nx.log"),
        "--pid-file",
        str(work / "nx.pid"),
    ]
    with Processes(work) as processes:
        processes.start("nx-27017", argv)
        client: Any = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/t", serverSelectionTimeoutMS=500)

        def ready() -> bool:
            try:
                client.admin.command("ping")
                return True
            except pymongo.errors.PyMongoError:
                return False

        processes.wait_ready("nx-27017", ready, 30)
        yield client.t.keys
        client.close()


@pytest.fixture
def coll(keys: Any) -> Any:
    keys.delete_many({})
    return keys


def test_find_one_matches_an_objectid_field_other_than_id(coll: Any) -> None:
    user = ObjectId()
    coll.insert_many([{"userId": user, "name": "A"}, {"userId": ObjectId(), "name": "A"}])
    assert coll.find_one({"userId": user, "name": "A"})["userId"] == user


def test_count_documents_counts_an_objectid_equality(coll: Any) -> None:
    user = ObjectId()
    coll.insert_many(
        [{"userId": user, "name": "A"}, {"userId": user, "name": "B"}, {"userId": ObjectId(), "name": "A"}]
    )
    assert coll.count_documents({"userId": user}) == 2
    assert coll.count_documents({"userId": user, "name": "A"}) == 1


def test_delete_one_removes_the_users_key_only(coll: Any) -> None:
    user, other = ObjectId(), ObjectId()
    coll.insert_many([{"userId": user, "name": "A"}, {"userId": other, "name": "A"}])
    assert coll.delete_one({"userId": user, "name": "A"}).deleted_count == 1
    assert [doc["userId"] for doc in coll.find({})] == [other]


def test_delete_many_removes_every_key_of_the_user(coll: Any) -> None:
    user, other = ObjectId(), ObjectId()
    coll.insert_many([{"userId": user, "name": "A"}, {"userId": user, "name": "B"}, {"userId": other, "name": "A"}])
    assert coll.delete_many({"userId": user}).deleted_count == 2
    assert coll.count_documents({}) == 1


def test_find_one_and_update_upsert_twice_keeps_one_document(coll: Any) -> None:
    user = ObjectId()
    for value in ("first", "second"):
        saved = coll.find_one_and_update(
            {"userId": user, "name": "A"}, {"$set": {"value": value}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert saved["userId"] == user
    assert [(doc["userId"], doc["value"]) for doc in coll.find({})] == [(user, "second")]


def test_update_one_upsert_stores_the_objectid_not_its_string(coll: Any) -> None:
    user = ObjectId()
    coll.update_one({"userId": user, "name": "A"}, {"$set": {"value": "v"}}, upsert=True)
    assert coll.find_one({"name": "A"})["userId"] == user


def test_find_one_and_delete_removes_the_match(coll: Any) -> None:
    user, other = ObjectId(), ObjectId()
    coll.insert_many([{"userId": other, "name": "A"}, {"userId": user, "name": "A"}])
    assert coll.find_one_and_delete({"userId": user, "name": "A"})["userId"] == user
    assert [doc["userId"] for doc in coll.find({})] == [other]


def test_aggregate_matches_an_objectid_id(coll: Any) -> None:
    inserted = coll.insert_one({"name": "A"}).inserted_id
    assert [doc["name"] for doc in coll.aggregate([{"$match": {"_id": inserted}}])] == ["A"]


def test_find_one_matches_an_objectid_together_with_a_date_range(coll: Any) -> None:
    """LibreChat's refresh: Session.findOne({user, refreshTokenHash, expiration: {$gt: now}})."""
    user = ObjectId()
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    coll.insert_many(
        [{"user": user, "hash": "h", "expiration": soon}, {"user": ObjectId(), "hash": "h", "expiration": soon}]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    found = coll.find_one({"user": user, "hash": "h", "expiration": {"$gt": now}})
    assert found is not None and found["user"] == user
    assert coll.count_documents({"user": user, "expiration": {"$gt": now}}) == 1


def test_a_compound_index_with_id_leaves_the_collection_writable(keys: Any) -> None:
    """v0.8.7's Conversation schema: index {user, chatProjectId, updatedAt, _id}."""
    convos = keys.database.convos
    convos.create_index([("user", 1), ("updatedAt", -1), ("_id", 1)])
    convos.find_one_and_update({"conversationId": "c", "user": "u"}, {"$set": {"title": "t"}}, upsert=True)
    assert convos.find_one({"conversationId": "c"})["title"] == "t"
