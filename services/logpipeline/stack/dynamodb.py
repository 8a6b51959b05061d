"""The local stack's DynamoDB-API server: moto's standalone server on loopback."""

from __future__ import annotations

import json
import sys
import urllib.request

from logpipeline.config import Settings
from logpipeline.stack.component import (
    Component,
    ProcessSpec,
)


class DynamoDb(Component):
    """A DynamoDB-API server on loopback (moto's standalone server), reached by boto3 via an endpoint URL."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("dynamodb", settings, ready_timeout=45.0)

    def ports(self) -> dict[str, int]:
        return {"api": self.settings.ports.dynamodb}

    def address(self) -> str:
        return self.settings.dynamodb_endpoint

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                "dynamodb",
                [
                    sys.executable,
                    "-m",
                    "moto.server",
                    "-H",
                    self.settings.host,
                    "-p",
                    str(self.settings.ports.dynamodb),
                ],
                env={"AWS_DEFAULT_REGION": "us-east-1", "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
            )
        ]

    def healthy(self) -> bool:
        body = json.dumps({}).encode()
        req = urllib.request.Request(
            self.settings.dynamodb_endpoint,
            data=body,
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return "TableNames" in json.loads(resp.read())
        except Exception:
            return False
