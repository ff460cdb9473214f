"""Gunicorn settings for `gongshu serve`: with GONGSHU_WARM_LOOKUPS=1 each worker decodes the key indexes
of the current snapshots before it takes requests, so the first per-record lookups are as fast as the rest."""

import os


def post_worker_init(worker):
    if os.environ.get("GONGSHU_WARM_LOOKUPS") == "1":
        from warehouse.lookup import warm_all

        worker.log.info("warmed %s row groups", warm_all())
        marker = os.environ.get("GONGSHU_WARM_MARKER_DIR")
        if marker:  # the bench waits until every worker is warm
            open(os.path.join(marker, f"warm-{os.getpid()}"), "w").close()
