"""How store errors are classified: retry (throttling, unreachable), rebuild (table gone) or give up."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError

from logpipeline.metrics import store


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem"
    )


def test_throttling_and_outages_are_retried() -> None:
    for code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
        assert isinstance(store.classify(_client_error(code)), store.Unavailable)
    assert isinstance(store.classify(_client_error("Whatever", 503)), store.Unavailable)
    assert isinstance(store.classify(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")), store.Unavailable)


def test_missing_table_means_rebuild_and_validation_is_permanent() -> None:
    assert isinstance(store.classify(_client_error("ResourceNotFoundException")), store.TableMissing)
    error = _client_error("ValidationException")
    assert store.classify(error) is error
