"""Replica regions of the metrics tables (global tables 2019.11.21): the UpdateTable requests, in order, and their
shapes checked against botocore's own DynamoDB service model (the local DynamoDB-API server has no replicas)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from logpipeline.metrics import replicas

UPDATE_TABLE = botocore.session.get_session().get_service_model("dynamodb").operation_model("UpdateTable").input_shape


def table(stream: dict[str, Any] | None = None, present: tuple[str, ...] = ()) -> dict[str, Any]:
    desc: dict[str, Any] = {"TableName": "agg", "TableStatus": "ACTIVE"}
    if stream is not None:
        desc["StreamSpecification"] = stream
    if present:
        desc["Replicas"] = [{"RegionName": r, "ReplicaStatus": "ACTIVE"} for r in present]
    return desc


def test_region_lists_are_parsed_in_order_once_and_bad_names_named() -> None:
    assert replicas.regions(" eu-west-1,us-east-1,,eu-west-1 ") == ["eu-west-1", "us-east-1"]
    assert replicas.regions(["ap-southeast-2"]) == ["ap-southeast-2"]
    assert replicas.regions("") == []
    with pytest.raises(ValueError, match="'Europe' is not an AWS region name"):
        replicas.regions("eu-west-1,Europe")


def test_the_stream_first_then_one_replica_per_request_skipping_the_home_region() -> None:
    out = replicas.requests("agg", table(), "us-east-1", ["us-east-1", "eu-west-1", "ap-south-1"])
    assert out == [
        {"TableName": "agg", "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
        {"TableName": "agg", "ReplicaUpdates": [{"Create": {"RegionName": "eu-west-1"}}]},
        {"TableName": "agg", "ReplicaUpdates": [{"Create": {"RegionName": "ap-south-1"}}]},
    ]


def test_present_replicas_are_not_requested_again() -> None:
    stream = dict(replicas.STREAM)
    assert replicas.requests("agg", table(stream, ("eu-west-1",)), "us-east-1", ["eu-west-1"]) == []
    out = replicas.requests("agg", table(stream, ("eu-west-1",)), "us-east-1", ["eu-west-1", "us-west-2"])
    assert out == [{"TableName": "agg", "ReplicaUpdates": [{"Create": {"RegionName": "us-west-2"}}]}]


def test_a_stream_of_another_view_type_is_an_error_that_says_what_to_do() -> None:
    keys_only = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    with pytest.raises(replicas.ReplicaError, match=r"view type KEYS_ONLY.*NEW_AND_OLD_IMAGES.*disable the stream"):
        replicas.requests("agg", table(keys_only), "us-east-1", ["eu-west-1"])
    assert replicas.requests("agg", table(keys_only), "us-east-1", ["us-east-1"]) == []  # nothing to replicate


def test_every_request_is_valid_for_botocores_dynamodb_model() -> None:
    for request in replicas.requests("agg", table(), "us-east-1", ["eu-west-1", "us-west-2"]):
        validate_parameters(request, UPDATE_TABLE)  # raises on any shape the service would refuse
    with pytest.raises(ParamValidationError, match="RegionNames"):  # the check itself can fail
        validate_parameters({"TableName": "agg", "ReplicaUpdates": [{"Create": {"RegionNames": "x"}}]}, UPDATE_TABLE)
