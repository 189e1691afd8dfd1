"""The local AWS (moto server at $AWS_ENDPOINT_URL, started by tools/with-moto.sh) and SQS helpers."""

from __future__ import annotations

import os
import uuid

import pytest


def unique(name: str) -> str:
    """A queue name no other test (or parallel run) uses."""
    return f"t{uuid.uuid4().hex[:8]}-{name}"


def sqs_in(region: str):
    if not os.environ.get("AWS_ENDPOINT_URL"):
        pytest.fail("AWS_ENDPOINT_URL is not set: run these tests under tools/with-moto.sh (make ops-test)")
    import boto3
    from botocore.config import Config

    return boto3.session.Session(region_name=region).client(
        "sqs", config=Config(retries={"mode": "standard", "max_attempts": 3})
    )


@pytest.fixture
def sqs():
    return sqs_in(os.environ.get("AWS_REGION") or "us-east-1")


@pytest.fixture
def sqs_china():
    return sqs_in("cn-northwest-1")
