"""How store errors are classified (retry, rebuild or give up), and which credentials a new client signs with."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
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


def test_each_client_signs_with_the_credentials_the_environment_holds_when_it_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rotated key reaches the next client: boto3's default session would keep the first key it resolved."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.headers["Authorization"].split("Credential=")[1].split("/")[0])
            body = b'{"__type":"com.amazon.coral.validate#ValidationException","message":"m"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for key in ("FIRSTKEY", "ROTATEDKEY"):
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", f"{key}-secret")
            with pytest.raises(ClientError):
                store.client(f"http://127.0.0.1:{server.server_port}", attempts=1).list_tables()
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["FIRSTKEY", "ROTATEDKEY"]
