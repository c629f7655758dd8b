"""moto's DynamoDB as the local stack patches it: transactions all or nothing at any table
size, safe under concurrent callers, and queries that agree with the items."""

from __future__ import annotations

import copy
import importlib.metadata
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table
from moto.server import ThreadedMotoServer

from shared.local import moto_dynamodb, moto_routing


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    moto_dynamodb.install()
    moto_routing.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield boto3.client(
        "dynamodb",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=16, retries={"max_attempts": 1}),
    )
    server.stop()


@pytest.fixture
def table(dynamodb: Any) -> str:
    name = f"patched-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gsi1pk")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    return name


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def item(pk: str, sk: str = "A", group: str | None = None, **numbers: int) -> dict[str, Any]:
    attrs: dict[str, Any] = key(pk, sk)
    if group is not None:
        attrs["gsi1pk"] = {"S": group}
    attrs.update({name: {"N": str(value)} for name, value in numbers.items()})
    return attrs


def index_keys(dynamodb: Any, table: str, group: str) -> list[str]:
    found = dynamodb.query(
        TableName=table,
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :g",
        ExpressionAttributeValues={":g": {"S": group}},
    )["Items"]
    return [f"{i['pk']['S']}/{i['sk']['S']}" for i in found]


def all_items(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return sorted(
        dynamodb.scan(TableName=table)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"])
    )


def cancel_reasons(error: pytest.ExceptionInfo[ClientError]) -> list[dict[str, Any]]:
    return list(error.value.response["CancellationReasons"])


def failing_check(table: str, pk: str, **extra: Any) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "TableName": table,
            "Key": key(pk),
            "ConditionExpression": "attribute_not_exists(pk)",
            **extra,
        }
    }


def test_the_patch_was_written_against_the_installed_moto_version() -> None:
    # A different moto may have changed the code replaced here: re-read
    # moto/dynamodb/models/__init__.py (transact_write_items), models/table.py (query,
    # put_item, delete_item) and moto_server/werkzeug_app.py, then move the pin.
    assert importlib.metadata.version("moto") == moto_dynamodb.PATCHED_MOTO_VERSION


def test_installing_replaces_motos_transaction_and_is_idempotent(dynamodb: Any) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    moto_dynamodb.install()
    moto_routing.install()
    assert DynamoDBBackend.transact_write_items is moto_dynamodb.transact_write_items
    assert moto_dynamodb.installed() and moto_routing.installed()


def test_a_transaction_whose_condition_fails_writes_nothing(dynamodb: Any, table: str) -> None:
    # Given an item to update, one to delete and one the transaction would create
    dynamodb.put_item(TableName=table, Item=item("updated", group="g-old", n=1))
    dynamodb.put_item(TableName=table, Item=item("deleted", group="g-old", n=2))
    dynamodb.put_item(TableName=table, Item=item("guard", n=0))
    before = all_items(dynamodb, table)

    # When the last operation's condition fails
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": item("created", group="g-old")}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("updated"),
                        "UpdateExpression": "SET gsi1pk = :g, n = n + :one",
                        "ExpressionAttributeValues": {":g": {"S": "g-new"}, ":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": key("deleted")}},
                failing_check(table, "guard"),
            ]
        )

    # Then the transaction is cancelled and every item, and the index, is as before
    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert all_items(dynamodb, table) == before
    assert index_keys(dynamodb, table, "g-old") == ["deleted/A", "updated/A"]
    assert index_keys(dynamodb, table, "g-new") == []


def test_cancellation_reasons_name_the_failed_item_in_its_position_with_the_old_item(
    dynamodb: Any, table: str
) -> None:
    dynamodb.put_item(TableName=table, Item=item("guard", n=7))
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": item("first")}},
                failing_check(table, "guard", ReturnValuesOnConditionCheckFailure="ALL_OLD"),
                {"Put": {"TableName": table, "Item": item("third")}},
            ]
        )
    reasons = cancel_reasons(error)
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None"]
    assert reasons[1]["Item"] == item("guard", n=7)
    assert dynamodb.get_item(TableName=table, Key=key("first")).get("Item") is None


def test_a_failed_condition_without_all_old_carries_no_item(dynamodb: Any, table: str) -> None:
    dynamodb.put_item(TableName=table, Item=item("guard"))
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(TransactItems=[failing_check(table, "guard")])
    assert cancel_reasons(error) == [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    ]


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(
    dynamodb: Any, table: str
) -> None:
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": item("other")}},
                {"Put": {"TableName": table, "Item": item("twice", n=1)}},
                {"Delete": {"TableName": table, "Key": key("twice")}},
            ]
        )
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in error.value.response["Error"]["Message"]
    assert all_items(dynamodb, table) == []


def test_more_than_100_operations_are_refused(dynamodb: Any, table: str) -> None:
    puts = [{"Put": {"TableName": table, "Item": item(f"p{i}")}} for i in range(101)]
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(TransactItems=puts)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert all_items(dynamodb, table) == []


def test_a_transaction_whose_conditions_hold_applies_every_operation(
    dynamodb: Any, table: str
) -> None:
    dynamodb.put_item(TableName=table, Item=item("counter", group="g", n=1))
    dynamodb.put_item(TableName=table, Item=item("gone", group="g"))
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": item("new", group="g")}},
            {
                "Update": {
                    "TableName": table,
                    "Key": key("counter"),
                    "UpdateExpression": "SET n = n + :one, gsi1pk = :h",
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":h": {"S": "h"}},
                }
            },
            {"Delete": {"TableName": table, "Key": key("gone")}},
        ]
    )
    counter = dynamodb.get_item(TableName=table, Key=key("counter"))["Item"]
    assert counter["n"] == {"N": "2"}
    assert index_keys(dynamodb, table, "g") == ["new/A"]
    assert index_keys(dynamodb, table, "h") == ["counter/A"]


def test_index_queries_follow_puts_updates_and_deletes(dynamodb: Any, table: str) -> None:
    dynamodb.put_item(TableName=table, Item=item("a", "1", group="g"))
    dynamodb.put_item(TableName=table, Item=item("b", "2", group="g"))
    assert index_keys(dynamodb, table, "g") == ["a/1", "b/2"]
    dynamodb.update_item(
        TableName=table,
        Key=key("a", "1"),
        UpdateExpression="SET gsi1pk = :h",
        ExpressionAttributeValues={":h": {"S": "h"}},
    )
    dynamodb.delete_item(TableName=table, Key=key("b", "2"))
    dynamodb.put_item(TableName=table, Item=item("c", "0", group="g"))
    assert index_keys(dynamodb, table, "g") == ["c/0"]
    assert index_keys(dynamodb, table, "h") == ["a/1"]


def test_concurrent_conditional_transactions_count_exactly_their_successes(
    dynamodb: Any, table: str
) -> None:
    # Given a counter that 8 threads each try to advance 50 times, optimistically
    dynamodb.put_item(TableName=table, Item=item("counter", n=0))
    outcomes: list[str] = []
    lock = threading.Lock()

    def advance(thread: int) -> None:
        for attempt in range(50):
            seen = dynamodb.get_item(TableName=table, Key=key("counter"), ConsistentRead=True)
            current = int(seen["Item"]["n"]["N"])
            try:
                dynamodb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": table,
                                "Key": key("counter"),
                                "UpdateExpression": "SET n = :next",
                                "ConditionExpression": "n = :seen",
                                "ExpressionAttributeValues": {
                                    ":seen": {"N": str(current)},
                                    ":next": {"N": str(current + 1)},
                                },
                            }
                        },
                        {"Put": {"TableName": table, "Item": item("log", f"{thread}-{attempt}")}},
                    ]
                )
                outcome = "ok"
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons", [])
                outcome = (
                    "cancelled" if reasons[0]["Code"] == "ConditionalCheckFailed" else str(exc)
                )
            with lock:
                outcomes.append(outcome)

    # When they all run at once
    threads = [threading.Thread(target=advance, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then each transaction succeeded or was cancelled whole, and the counter says how many
    assert set(outcomes) <= {"ok", "cancelled"} and len(outcomes) == 400
    successes = outcomes.count("ok")
    counter = dynamodb.get_item(TableName=table, Key=key("counter"))["Item"]
    logs = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "log"}},
    )["Items"]
    assert int(counter["n"]["N"]) == successes == len(logs)
    assert successes > 0


def test_a_transaction_on_a_large_table_copies_only_the_items_it_touches(
    dynamodb: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a table of 2,000 items
    for start in range(0, 2000, 25):
        requests = [
            {"PutRequest": {"Item": item(f"bulk-{n}", group="bulk")}}
            for n in range(start, start + 25)
        ]
        dynamodb.batch_write_item(RequestItems={table: requests})
    copied: list[type] = []
    real_deepcopy = copy.deepcopy

    def recording_deepcopy(value: Any, memo: Any = None) -> Any:
        copied.append(type(value))
        return real_deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", recording_deepcopy)

    # When a transaction of two items runs, and another is cancelled
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": item("small-1")}},
            {"Put": {"TableName": table, "Item": item("small-2")}},
        ]
    )
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": item("small-3")}},
                failing_check(table, "small-1"),
            ]
        )
    monkeypatch.undo()

    # Then no table was copied, and the cancelled one left the table as it was
    assert Table not in copied
    assert dynamodb.get_item(TableName=table, Key=key("small-3")).get("Item") is None
    assert len(index_keys(dynamodb, table, "bulk")) == 2000
