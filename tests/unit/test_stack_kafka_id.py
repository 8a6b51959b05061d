"""The local broker's KRaft cluster id: the storage tool must take it as a value, never as an option."""

from __future__ import annotations

import base64

from logpipeline.stack.kafka import kafka_cluster_id


def test_an_id_that_would_read_as_an_option_is_drawn_again() -> None:
    draws = iter([b"\xf8" + bytes(15), bytes(range(16))])  # the first encodes to '-A...'
    assert base64.urlsafe_b64encode(b"\xf8" + bytes(15)).decode().startswith("-")
    cluster_id = kafka_cluster_id(lambda: next(draws))
    assert cluster_id == base64.urlsafe_b64encode(bytes(range(16))).decode().rstrip("=")


def test_ids_are_22_url_safe_characters_and_differ() -> None:
    ids = {kafka_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 22 and not i.startswith("-") and "=" not in i for i in ids)
