"""What the job library's record (django-tasks-db) has no place for: a running job's progress, and when each
scheduled job was last enqueued. The jobs themselves, the schedule and the worker are in ``gongshu.jobs``."""
