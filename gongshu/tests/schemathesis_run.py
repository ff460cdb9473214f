"""Schemathesis over /api/v1/openapi.json, in process (issue 12 item 9): for two roles, a bureau administrator
and an agency's data officer, every operation gets at most 20 generated requests with a fixed seed; no answer
is a 5xx and every answer conforms to the operation's documented responses (status code, body schema, content
type). SQLite only: PostgreSQL adds nothing to what the API answers (the schema and handlers are the same).

The run is collected once per role, in ``test_schemathesis_<role>.py`` (each gives the ``role`` fixture), so
that the two halves run on two workers of a parallel run."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hsettings

from core.services import issue_token
from gongshu.wsgi import application


MAX_EXAMPLES = 20
SEED = 20260512

# Operations not run, each with its reason.
EXCLUDED = {
    ("DELETE", "/api/v1/tokens/{token_id}"): "revokes a token: it may be the run's own",
}

config = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES},
    # No 5xx, and each answer as documented (status code, content type, headers, body). Not run: whether a
    # request that fits the schema is accepted, or one that does not is refused: the services' rules (a
    # known category, a valid public key...) and ignored extra query parameters are not schema matters.
    "checks": {"positive_data_acceptance": {"enabled": False}, "negative_data_rejection": {"enabled": False}},
    "phases": {"examples": {"enabled": True}, "fuzzing": {"enabled": True}, "coverage": {"enabled": False},
               "stateful": {"enabled": False}},
})


# The app's own schema document, fetched through the app; the requests go to the app in process (WSGI).
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=config).exclude(
    func=lambda ctx: (ctx.operation.method.upper(), ctx.operation.path) in EXCLUDED)


@pytest.fixture
def in_test_transaction():
    """The WSGI handler closes the database connection at the end of each request, and with it the test's
    transaction; Django's test client keeps it open the same way."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


@pytest.fixture
def token(role, db, city, settings, in_test_transaction):
    """A read-write token of ``role`` (a demo user: a bureau administrator, the police's data officer), made by
    the token service."""
    settings.GONGSHU_RATE_TOKEN_PER_MINUTE = 0  # no limit: the run is about the answers, not the rate limiter
    settings.GONGSHU_RATE_UNAUTHENTICATED_PER_MINUTE = 0
    return issue_token(city.actor(role), name="schemathesis", scopes=["read", "write"])[1]


@schema.parametrize()
# One token and one rolled-back transaction per operation and role, on purpose; no example database: each run
# is the same run.
@hsettings(deadline=None, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_answers_as_documented(case, token):
    """No 5xx; every answer's status code documented on its operation, its body the documented schema."""
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
