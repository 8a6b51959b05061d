"""Each component of the local stack is a real server: Kafka, HDFS (via Spark and WebHDFS), DynamoDB API."""

from __future__ import annotations

import uuid

import boto3
import fsspec
import hdfs
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from logpipeline.config import Settings
from logpipeline.metrics import store
from support import leftovers
from support.wait import wait_for


def test_kafka_idempotent_produce_and_consume(stack: Settings, unique: str) -> None:
    topic = f"it-stack-{unique}"
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    sent = {f"k{i}": f"v{i}" for i in range(100)}
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": stack.kafka_bootstrap,
            "group.id": f"g-{unique}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    got: dict[str, str] = {}
    try:
        for _ in range(300):
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                if len(got) == len(sent):
                    break
                continue
            got[msg.key().decode()] = msg.value().decode()
    finally:
        consumer.close()
    assert got == sent
    admin.delete_topics([topic])


def test_auto_topic_creation_is_off(stack: Settings, unique: str) -> None:
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "message.timeout.ms": 3000})
    errors = []
    producer.produce(f"it-missing-{unique}", value=b"x", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None


def test_spark_writes_parquet_to_hdfs_read_back_over_webhdfs(stack: Settings, unique: str) -> None:
    from logpipeline_spark.session import build_session

    spark = build_session("it-hdfs", master="local[1]", settings=stack, with_kafka=False)
    path = f"/it/{unique}/table"
    rows = [(i, f"api-{i % 3}", float(i) * 1.5) for i in range(50)]
    try:
        spark.createDataFrame(rows, "id INT, api STRING, rt DOUBLE").coalesce(1).write.parquet(stack.hdfs_url + path)
    finally:
        spark.stop()  # a session left running would be the one later tests' getOrCreate returns, with its settings
    fs = fsspec.filesystem("webhdfs", host=stack.host, port=stack.ports.namenode_http, user="root")
    files = [f for f in fs.ls(path, detail=False) if f.endswith(".parquet")]
    assert files, f"no parquet file under {path}"
    table = pq.read_table(files[0], filesystem=fs)
    assert sorted(table.to_pydict()["id"]) == list(range(50))
    assert sum(table.to_pydict()["rt"]) == pytest.approx(sum(r[2] for r in rows))


def test_dynamodb_table_put_query_conditional_update(stack: Settings, unique: str) -> None:
    ddb = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = f"it-{unique}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for sk in range(5):
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"N": str(sk)}, "v": {"N": "1"}})
    got = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk >= :s",
        ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"N": "2"}},
    )
    assert [int(i["sk"]["N"]) for i in got["Items"]] == [2, 3, 4]
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
        UpdateExpression="SET v = :n",
        ConditionExpression="v < :n",
        ExpressionAttributeValues={":n": {"N": "2"}},
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
            UpdateExpression="SET v = :n",
            ConditionExpression="v < :n",
            ExpressionAttributeValues={":n": {"N": "2"}},
        )
    assert exc.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]
    assert item["v"]["N"] == "2"
    ddb.delete_table(TableName=table)


def _make_leftovers(stack: Settings, suffix: str) -> leftovers.Found:
    """A topic, a consumer group with a committed offset, two HDFS directory trees and a table, all named with
    ``suffix``: what a test leaves on the stack."""
    name = f"lo-{suffix}"
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(30)
    consumer = Consumer({"bootstrap.servers": stack.kafka_bootstrap, "group.id": name})
    consumer.commit(offsets=[TopicPartition(name, 0, 0)], asynchronous=False)
    consumer.close()
    client = hdfs.InsecureClient(stack.webhdfs_url, user="root")
    client.makedirs(f"/{name}/raw")
    client.makedirs(f"/it/{suffix}/table")
    ddb = store.client(stack.dynamodb_endpoint)
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    ddb.create_table(TableName=name, KeySchema=key, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST")
    dirs = {f"/{name}", f"/{name}/raw", f"/it/{suffix}"}
    return leftovers.Found(frozenset({name}), frozenset({name}), frozenset(dirs), frozenset({name}))


def test_what_a_session_named_is_removed_and_nothing_else(stack: Settings, unique: str) -> None:
    other = uuid.uuid4().hex[:10]  # no suffix of this session's: what it names must stay
    mine, theirs = _make_leftovers(stack, unique), _make_leftovers(stack, other)
    both = leftovers.find(stack, lambda name: unique in name or other in name)
    assert both == leftovers.Found(
        mine.topics | theirs.topics, mine.groups | theirs.groups, mine.dirs | theirs.dirs, mine.tables | theirs.tables
    )
    assert leftovers.remove(stack, leftovers.find(stack, lambda name: unique in name)) == []
    wait_for(lambda: leftovers.find(stack, lambda name: unique in name or other in name) == theirs, 30, "only theirs")
    assert leftovers.remove(stack, theirs) == []
    wait_for(lambda: leftovers.find(stack, lambda name: other in name) == leftovers.Found(), 30, "nothing of theirs")
