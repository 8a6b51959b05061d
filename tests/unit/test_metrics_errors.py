"""How store errors are classified: retry (throttling, unreachable), rebuild (table gone) or give up."""

from __future__ import annotations

from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

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


def test_refused_credentials_and_permissions_stop_the_sink() -> None:
    for code in ("AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException"):
        denied = store.classify(_client_error(code))
        assert isinstance(denied, store.Denied) and str(denied) == f"{code}: m"
    xml = (
        '<?xml version="1.0"?><ErrorResponse><Errors><Error><Code>InvalidClientTokenId</Code>'
        "<Message>The security token included in the request is invalid.</Message></Error></Errors></ErrorResponse>"
    )
    unparsed = ClientError({"Error": {"Code": "403", "Message": xml}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "X")
    assert str(store.classify(unparsed)) == (
        "HTTP 403: InvalidClientTokenId: The security token included in the request is invalid."
    )
    assert isinstance(store.classify(NoCredentialsError()), store.Denied)
