"""Fixtures: a stack with known statistics made by the real stats-aggregator (see stack.py)."""
from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
import stack as stack_module  # noqa: E402


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
