"""Schemathesis over the API as a bureau administrator (the run: ``schemathesis_run``)."""

import pytest

from gongshu.tests.schemathesis_run import in_test_transaction, test_api_answers_as_documented, token  # noqa: F401

pytestmark = pytest.mark.schemathesis  # SQLite only (conftest): the API and its schema do not depend on the database


@pytest.fixture(params=["bureau"])  # a parameter, so that each test's id names the operation and the role
def role(request):
    return request.param
