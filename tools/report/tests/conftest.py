"""Fixtures: a stack with known statistics made by the real stats-aggregator (see stack.py)."""
from __future__ import annotations

import datetime as dt
import os

import pytest

from tools.report.tests import stack as stack_module


@pytest.fixture(scope="session")
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="session")
def stack(now):
    if not os.environ.get("AWS_ENDPOINT_URL"):
        pytest.fail("these tests need the local AWS: run them with tools/with-moto.sh (make report-test)")
    return stack_module.build(now)


@pytest.fixture(scope="session")
def s3():
    import boto3

    return boto3.client("s3")
