"""Gunicorn settings for `gongshu serve`. Each worker loads the URL configuration (and with it every view and
API module) before it takes requests, so the first request does not wait a second for imports; with
GONGSHU_WARM_LOOKUPS=1 it also decodes the key indexes of the current snapshots, so the first per-record
lookups are as fast as the rest."""

import os


def post_worker_init(worker):
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 — imports the URL configuration's modules now
    if os.environ.get("GONGSHU_WARM_LOOKUPS") == "1":
        from warehouse.lookup import warm_all

        worker.log.info("warmed %s row groups", warm_all())
    marker = os.environ.get("GONGSHU_WARM_MARKER_DIR")
    if marker:  # the bench waits until every worker is ready
        open(os.path.join(marker, f"warm-{os.getpid()}"), "w").close()


def worker_exit(server, worker):
    from core import ratelimit

    ratelimit.flush()  # a stopping worker's last counts reach the shared table


def _timeout() -> int:
    """A worker is killed only well after an engine run's own time limit has refused the query."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongshu.settings")
    from django.conf import settings

    return int(settings.GONGSHU_QUERY_TIMEOUT_SECONDS) + 20


timeout = _timeout()
