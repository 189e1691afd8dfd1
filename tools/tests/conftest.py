"""Fixtures for the infra tests: the local AWS (moto) and one provisioned stack per test module."""

from __future__ import annotations

import os
import uuid

import pytest

from tools import provision


def unique_prefix() -> str:
    """A fresh NamePrefix so tests (and parallel runs) never share resources."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def session():
    if not os.environ.get("AWS_ENDPOINT_URL"):
        pytest.fail("AWS_ENDPOINT_URL is not set: run the infra tests under tools/with-moto.sh (make infra-test)")
    import boto3

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.session.Session(region_name=region)


@pytest.fixture(scope="module")
def provisioned(session):
    """The suite provisioned from the template under a unique prefix: (prefix, output map)."""
    prefix = unique_prefix()
    out = provision.provision(prefix=prefix, log=lambda _line: None)
    return prefix, out


def stack_for(session, prefix: str, template_path=provision.DEFAULT_TEMPLATE, overrides=None) -> provision.Stack:
    account = session.client("sts").get_caller_identity()["Account"]
    return provision.Stack(
        provision.load_template(template_path),
        name_prefix=prefix,
        environment="dev",
        region=session.region_name,
        account=account,
        overrides=overrides,
    )
