"""Writes of the warehouse: batches in, snapshots published, problem rows assigned.

Ingestion does its file work outside any database transaction (a large file must not hold the
database's write lock) and writes to the database in short transactions: open the batch, then either
publish the snapshot (version, mount, audit) or refuse the batch (reasons, problem rows, audit).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record, service
from catalog.models import Resource
from foundation import permissions, rulebook
from core import workdays
from foundation.actor import Actor, acting_for, platform_actor
from foundation.roles import PLATFORM_SCHEDULER
from core.actor import act_as
from foundation.errors import Conflict, GongshuError, NotFound, ValidationFailed

from . import quality, readers, storage, usage
from .models import Batch, GovernanceRequest, QualityIssue, Snapshot

logger = logging.getLogger(__name__)
MAX_ISSUES = 100_000
_CASTS = {"integer": pa.int64(), "decimal": pa.float64(), "boolean": pa.bool_()}


IDENTIFIERS = ("citizen_id", "uscc")  # the identifiers checked by check digit (A3)


def _identifiers(resource: Resource, table: pa.Table | None) -> dict[str, str]:
    """Which columns hold citizen IDs or USCCs, whether or not their items say so (A3): by the item's
    sensitivity, by what the item is called (the type's key, label or other names in the rulebook), or by
    the batch itself: a sample's values mostly of the identifier's shape (grading.discovery.min_share), right
    check digit or not."""
    from foundation.identifiers import SHAPES
    from grading.discovery import DETECTORS  # a value that is a valid identifier of the type
    from grading.scheme import sensitivity_types

    types = {key: t for key, t in sensitivity_types().items() if key in IDENTIFIERS}
    found = {}
    for item in resource.items.all():
        if item.sensitivity in IDENTIFIERS:
            found[item.column] = item.sensitivity
        elif kind := next((key for key, t in types.items() if t.named(item.name, item.column)), None):
            found[item.column] = kind
    if table is not None:
        sample = min(table.num_rows, int(rulebook.value("grading.discovery.sample_rows")))
        share, least_valid = float(rulebook.value("grading.discovery.min_share")), float(rulebook.value("quality.identifier_min_valid"))
        for column in (c for c in table.column_names if c not in found and sample):
            values = [str(v).strip() for v in table.column(column).slice(0, sample).to_pylist() if v not in (None, "")]
            for kind in IDENTIFIERS:
                shaped = [v for v in values if SHAPES[kind].match(v)]
                # of the identifier's shape, and enough of them right that it is not another number of that length
                if values and len(shaped) / len(values) >= share and sum(map(DETECTORS[kind], shaped)) / len(shaped) >= least_valid:
                    found[column] = kind
                    break
    return found


def _columns(resource: Resource, table: pa.Table | None = None) -> list[quality.Column]:
    identifiers = _identifiers(resource, table)
    return [
        quality.Column(
            column=i.column, data_type=i.data_type, required=i.required or i.is_key, is_key=i.is_key,
            identifier=identifiers.get(i.column, ""),
        )
        for i in resource.items.order_by("position")
    ]


def _map_header(table: pa.Table, resource: Resource) -> pa.Table:
    """Header cells may be item columns or item names (数据项名称); anything else is the wrong column set."""
    by_name = {}
    for item in resource.items.all():
        by_name[item.column] = item.column
        by_name[item.name] = item.column
    unknown = [h for h in table.column_names if h not in by_name]
    mapped = [by_name.get(h, h) for h in table.column_names]
    duplicates = {m for m in mapped if mapped.count(m) > 1}
    required = [i for i in resource.items.all() if (i.required or i.is_key) and i.column not in mapped]
    problems = []
    if unknown:
        problems.append(f"目录中没有这些列：{'、'.join(unknown[:10])}")
    if duplicates:
        problems.append(f"列重复：{'、'.join(sorted(duplicates))}")
    if required:
        problems.append(f"缺少必填数据项：{'、'.join(i.name for i in required)}")
    if problems:
        raise ValidationFailed("列与目录不符：" + "；".join(problems), field="columns", code="wrong_columns")
    table = table.rename_columns(mapped)
    for item in resource.items.all():
        if item.column not in table.column_names:
            table = table.append_column(item.column, pa.nulls(table.num_rows, pa.string()))
    return table.select([i.column for i in resource.items.order_by("position")])


def _typed_column(values: pa.ChunkedArray, spec: quality.Column) -> pa.ChunkedArray:
    """A checked text column cast to its item format (blank text becomes null)."""
    blank = quality.blank(values)
    if pc.any(blank).as_py():
        values = pc.if_else(blank, pa.scalar(None, pa.string()), values)
    if spec.data_type == "boolean":
        return pc.is_in(values, pa.array(["true", "TRUE", "True", "1", "是"]))
    if spec.data_type in _CASTS:
        return pc.cast(values, _CASTS[spec.data_type])
    if spec.data_type == "date":
        try:
            return pc.cast(values, pa.date32())  # accepted rows hold valid YYYY-MM-DD dates (checked)
        except pa.ArrowInvalid:
            return pc.cast(pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
    return values


def _normalised(table: pa.Table, columns: list[quality.Column]) -> pa.Table:
    """Identifiers in upper case before any rule runs: x and X are one check character, so ...x and ...X are
    one key (a duplicate, not two records)."""
    for spec in columns:
        if spec.identifier and pa.types.is_string(table.schema.field(spec.column).type):
            position = table.column_names.index(spec.column)
            table = table.set_column(position, spec.column, pc.utf8_upper(table.column(position)))
    return table


def _typed(table: pa.Table, columns: list[quality.Column], rows: np.ndarray, codes: dict | None = None) -> pa.Table:
    """The accepted ``rows``, in that order, each column typed; a column in ``codes`` is taken from its
    dictionary codes instead (see ``_codes``)."""
    index = pa.array(rows)
    codes = codes or {}
    return pa.table({spec.column: codes[spec.column].take(index) if spec.column in codes
                     else _typed_column(table.column(spec.column).take(index), spec) for spec in columns})


def _codes(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """A repeating text column (code lists, districts, names) dictionary-encoded once, blank text as null:
    putting rows in key order then moves small codes instead of text, and the Parquet writer writes the
    codes as they are."""
    chunks = []
    for chunk in pc.dictionary_encode(values).chunks:
        words = chunk.dictionary
        blank = np.flatnonzero(quality._np(quality.blank(words)))
        if len(blank):
            codes = chunk.indices
            codes = pc.if_else(pc.is_in(codes, pa.array(blank, type=codes.type)), pa.scalar(None, codes.type), codes)
            chunk = pa.DictionaryArray.from_arrays(codes, words)
        chunks.append(chunk)
    return pa.chunked_array(chunks)


def _typed_parts(table: pa.Table, columns: list[quality.Column], rows: np.ndarray, pool: ThreadPoolExecutor):
    """The accepted rows in parts of a few row groups, typed in the pool a little ahead of the writer
    (Arrow and the Parquet writer free the GIL, so typing and writing overlap)."""
    size = storage.ROW_GROUP_SIZE * 8
    text = [spec.column for spec in columns if spec.data_type == "string" and not spec.identifier]
    repeating = storage.repeating(table.select(text))
    codes = dict(zip(repeating, pool.map(lambda column: _codes(table.column(column)), repeating)))
    ahead: deque = deque()
    for start in range(0, max(len(rows), 1), size):  # at least one part, if only for the schema
        ahead.append(pool.submit(_typed, table, columns, rows[start : start + size], codes))
        if len(ahead) > settings.GONGSHU_INGEST_THREADS:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _issues(batch: Batch, table: pa.Table, problems: quality.Problems, row_offset: int = 2) -> list[QualityIssue]:
    """Problem rows for the error report: row numbers as in the file (header is row 1)."""
    issues = []
    for (column, rule), mask in problems.masks.items():
        values = table.column(column)
        for index in np.flatnonzero(mask)[: MAX_ISSUES - len(issues)]:
            value = values[int(index)].as_py()
            issues.append(QualityIssue(batch=batch, row=int(index) + row_offset, column=column,
                                       value=(value or "")[:200], rule=rule, message=quality.MESSAGES[rule]))
        if len(issues) >= MAX_ISSUES:
            break
    return issues


def _open_batch(actor: Actor, resource: Resource, *, channel: str, mode: str, filename: str,
                status: str = Batch.Status.CHECKING, upload: str = "", encoding: str = "") -> Batch:
    permissions.require(actor, "warehouse.ingest", organisation=resource.provider)
    if resource.published_version is None:
        raise Conflict("目录尚未发布，不能汇聚数据（先编目、后汇聚）", field="resource", code="unpublished")
    if mode not in Batch.Mode.values:
        raise ValidationFailed("汇聚方式须为 full 或 delta", field="mode")
    if mode == Batch.Mode.DELTA and not resource.items.filter(is_key=True).exists():
        raise ValidationFailed("增量汇聚须有主键数据项", field="mode")
    with transaction.atomic():
        batch = Batch.objects.create(resource=resource, provider=resource.provider, submitted_by=actor.user,
                                     channel=channel, mode=mode, filename=filename[:255], status=status,
                                     upload=upload, encoding=encoding)
        record(actor, "warehouse.open_batch", batch, after={"resource": resource.code, "channel": channel, "mode": mode})
    return batch


def _refuse(actor: Actor, batch: Batch, message: str, issues: list[QualityIssue] = ()) -> Batch:
    with transaction.atomic():
        batch.status, batch.message, batch.finished_at = Batch.Status.REFUSED, message, timezone.now()
        batch.save()
        QualityIssue.objects.bulk_create(issues, batch_size=5000)
        record(actor, "warehouse.refuse_batch", batch, outcome="refused", detail={
            "resource": batch.resource.code, "message": message, "rows": batch.rows_received,
            "refused_rows": batch.rows_refused, "issues": len(issues),
        })
    return batch


def ingest_table(actor: Actor, resource: Resource, table: pa.Table, *, channel: str, mode: str = "full",
                 filename: str = "", encoding: str = "", sha256: str = "", progress: Callable | None = None,
                 batch: Batch | None = None) -> Batch:
    """Check a delivery whole; publish it as a new snapshot, or refuse it whole (A3, A4). ``batch``: the
    queued batch of a web upload, else a new one is opened."""
    batch = batch or _open_batch(actor, resource, channel=channel, mode=mode, filename=filename)
    batch.encoding, batch.sha256 = encoding, sha256
    step = _progress(batch, progress)
    try:
        table = _map_header(table, resource)
    except ValidationFailed as exc:
        return _refuse(actor, batch, exc.message)
    batch.rows_received = table.num_rows
    if table.num_rows == 0:
        return _refuse(actor, batch, "批次没有数据行")
    step("checking")
    columns = _columns(resource, table)
    table = _normalised(table, columns)
    keys = [c.column for c in columns if c.is_key]
    with ThreadPoolExecutor(settings.GONGSHU_INGEST_THREADS) as pool:
        # sorted once, while the other rules run: for duplicates and for the snapshot's key order
        sorting = pool.submit(quality.sort_order, table, keys) if keys else None
        problems = quality.check(table, columns, today=workdays.today(), order=sorting.result if sorting else None,
                                 pool=pool)
        order = sorting.result() if sorting else None
    bad = problems.bad_rows(table.num_rows)
    batch.rows_refused = int(bad.sum())
    batch.rows_accepted = table.num_rows - batch.rows_refused
    batch.error_rate = batch.rows_refused / table.num_rows
    threshold = float(rulebook.value("quality.max_error_rate"))
    issues = _issues(batch, table, problems)
    if batch.error_rate > threshold:
        return _refuse(actor, batch, f"问题数据占 {batch.error_rate:.2%}，超过阈值 {threshold:.2%}（{rulebook.rule('quality.max_error_rate').article}），整批退回", issues)
    step("writing")
    rows = order[~bad[order]] if order is not None else np.flatnonzero(~bad)  # in key order
    previous = Snapshot.objects.filter(resource=resource).order_by("-version").first()
    encrypt = resource.items.filter(published_grade__encrypt_at_rest=True).exists()  # G1, SEC3
    with ThreadPoolExecutor(settings.GONGSHU_INGEST_THREADS) as pool:
        if mode == Batch.Mode.DELTA and previous is not None:
            from .query import arrow_of

            good = _typed(table, columns, rows)
            old = arrow_of(previous)
            kept = old.filter(pc.invert(pc.is_in(old.column(keys[0]), good.column(keys[0]))))
            parts = [pa.concat_tables([kept.cast(good.schema), good]).sort_by([(k, "ascending") for k in keys])]
        else:
            parts = _typed_parts(table, columns, rows, pool)
        staging, digest, count = storage.stage(parts, encrypt=encrypt, keys=keys)
    step("publishing")
    return _publish(actor, batch, staging, digest, count, [c.column for c in columns], keys, issues, encrypt)


def _publish(actor, batch, staging: Path, digest: str, row_count: int, column_names: list[str], keys: list[str], issues,
             encrypted: bool) -> Batch:
    resource = batch.resource
    final = None
    try:
        with transaction.atomic():
            locked = Resource.objects.select_for_update().get(pk=resource.pk)
            version = (Snapshot.objects.filter(resource=locked).order_by("-version").values_list("version", flat=True).first() or 0) + 1
            final = storage.place(staging, locked.code, version)
            snapshot = Snapshot.objects.create(
                resource=locked, version=version, batch=batch, path=storage.relative(final), row_count=row_count,
                columns=column_names, key_columns=keys, sha256=digest, encrypted=encrypted,
            )
            batch.status, batch.finished_at = Batch.Status.PUBLISHED, timezone.now()
            batch.message = f"已发布为第 {version} 版快照" + (f"，{batch.rows_refused} 行问题数据待更正" if batch.rows_refused else "")
            batch.save()
            QualityIssue.objects.bulk_create(issues, batch_size=5000)
            locked.mounted_at, locked.mount_ref = timezone.now(), f"snapshot v{version}"  # C6: the entry has data now
            locked.save(update_fields=["mounted_at", "mount_ref", "updated_at"])
            record(actor, "warehouse.publish_snapshot", snapshot, after={
                "resource": locked.code, "version": version, "rows": row_count, "sha256": digest,
                "batch": batch.pk, "refused_rows": batch.rows_refused, "encrypted": encrypted,
            })
            storage.failpoint("before_commit")
    except BaseException:
        storage.discard(final or staging)
        raise
    return batch


def _check_size(size: int) -> None:
    if size > settings.GONGSHU_MAX_UPLOAD_BYTES:
        raise ValidationFailed(f"文件大小 {size / 2**20:,.0f} MB 超过上限 {settings.GONGSHU_MAX_UPLOAD_BYTES / 2**20:,.0f} MB",
                               field="file", code="too_large")


def _progress(batch: Batch | None, progress: Callable | None) -> Callable[[str], None]:
    """Report a stage to the caller (the CLI's progress bar) and, for a queued upload, on the batch
    itself (the batch page shows it while the worker runs)."""
    def step(stage: str) -> None:
        if batch is not None:  # each stage also moves the batch's updated_at: a batch that stops moving is stale
            moved = {"updated_at": timezone.now()}
            if batch.upload:
                batch.stage = moved["stage"] = stage
            Batch.objects.filter(pk=batch.pk).update(**moved)
        if progress:
            progress(stage)
    return step


def ingest_file(actor: Actor, resource: Resource, path: Path, *, filename: str | None = None, encoding: str | None = None,
                mode: str = "full", channel: str = Batch.Channel.UPLOAD, progress: Callable | None = None,
                batch: Batch | None = None) -> Batch:
    """A file delivery (CSV in UTF-8/GBK/GB18030, XLSX, JSON, JSON Lines)."""
    filename = filename or path.name
    _check_size(path.stat().st_size)
    step = _progress(batch, progress)
    step("reading")
    with ThreadPoolExecutor(1) as pool:
        digest = pool.submit(storage.sha256_of, path)  # while the file is read
        try:
            table, used = readers.read(path, filename=filename, encoding=encoding)
        except GongshuError as exc:
            batch = batch or _open_batch(actor, resource, channel=channel, mode=mode, filename=filename)
            batch.sha256 = digest.result()
            return _refuse(actor, batch, exc.message)
    return ingest_table(actor, resource, table, channel=channel, mode=mode, filename=filename, encoding=used,
                        sha256=digest.result(), progress=progress, batch=batch)


def uploads_root() -> Path:
    return Path(settings.GONGSHU_DATA_DIR) / "uploads"


def queue_upload(actor: Actor, resource: Resource, chunks: Iterable[bytes], *, filename: str, size: int,
                 encoding: str | None = None, mode: str = "full") -> Batch:
    """A web upload (A1): checked at once for what can be checked without reading it (rights, size,
    file type, declared encoding), stored, and queued; the worker checks and publishes it while the batch
    page shows its progress."""
    _check_size(size)
    name = Path(filename).name
    readers.check_declared(name, encoding)
    directory = uploads_root() / uuid.uuid4().hex
    directory.mkdir(parents=True)
    try:
        with (directory / "upload").open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        return _open_batch(actor, resource, channel=Batch.Channel.UPLOAD, mode=mode, filename=name,
                           status=Batch.Status.QUEUED, upload=directory.name, encoding=encoding or "")
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def run_queued_uploads() -> int:
    """The worker's side of web uploads: each queued batch, oldest first, claimed by one worker, checked
    and published (or refused) as the member who uploaded it; returns how many were run."""
    queued = Batch.objects.filter(status=Batch.Status.QUEUED).order_by("created_at").values_list("pk", flat=True)
    return sum(run_queued_upload(pk) for pk in queued)


def run_queued_upload(pk: int, *, progress: Callable | None = None) -> bool:
    """One queued batch (its job), claimed, checked and published or refused; False when it was not queued
    (another worker took it, or it has run): running it twice is harmless. ``progress(stage)`` at each stage."""
    if not Batch.objects.filter(pk=pk, status=Batch.Status.QUEUED).update(status=Batch.Status.CHECKING, stage="reading"):
        return False  # another worker took it
    batch = Batch.objects.select_related("resource", "submitted_by").get(pk=pk)
    directory = uploads_root() / batch.upload
    actor = platform_actor(PLATFORM_SCHEDULER, batch.provider)  # refuses it if the uploader can no longer act
    try:
        actor = act_as(batch.submitted_by, batch.provider_id, channel="web")
        ingest_file(actor, batch.resource, directory / "upload", filename=batch.filename,
                    encoding=batch.encoding or None, mode=batch.mode, batch=batch, progress=progress)
    except GongshuError as exc:  # e.g. the uploader lost the right to deliver while it waited
        _refuse(actor, batch, exc.message)
    except Exception as exc:
        logger.exception("upload of batch %s failed", pk)
        _refuse(platform_actor(PLATFORM_SCHEDULER, batch.provider), batch, f"处理失败：{type(exc).__name__}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return True


@service
def assign_issue(actor: Actor, issue: QualityIssue, *, assignee) -> QualityIssue:
    """Problem data is assigned to someone of the provider for correction (A3)."""
    permissions.require(actor, "warehouse.assign_issue", organisation=issue.batch.provider)
    if not assignee.memberships.filter(organisation=issue.batch.provider).exists():
        raise ValidationFailed("只能分派给提供部门的人员", field="assignee")
    issue.assignee, issue.status = assignee, QualityIssue.Status.ASSIGNED
    issue.save(update_fields=["assignee", "status", "updated_at"])
    record(actor, "warehouse.assign_issue", issue, after={"assignee": assignee.username})
    return issue


# --- problem data assigned to the provider (A3, SYS Art. 17(2), 28) -----------------------------------

REPORTED = "reported"  # the rule of a problem someone reported, not one a quality check found


def _check_assigner(actor: Actor, provider) -> None:
    """The bureau over the provider, or the service centre it designates, notifies it (SYS Art. 28(1), 10(3))."""
    from foundation.errors import PermissionDenied

    if not permissions.can(actor, "warehouse.assign_problem_data", organisation=provider):
        raise PermissionDenied("只有公共数据主管部门或其指定的服务机构可以分派问题数据", code="not_assigner")
    if actor.organisation is not None and actor.organisation.pk == provider.pk:
        raise Conflict("问题数据分派给数据提供部门，不能分派给本单位", code="own_data")


def _open_problem_case(actor: Actor, subject, *, provider, title: str, comment: str):
    from workflow.selectors import case_of
    from workflow.services import open_case

    if case_of(subject, "problem_data", open_only=True) is not None:
        raise Conflict("这些问题数据已分派，正在处理", code="already_assigned")
    return open_case(actor, case_type="problem_data", subject=subject, title=title,
                     parties={"provider": provider, "assigner": actor.organisation}, initial="fixing",
                     label="分派问题数据", comment=comment)


@service
def assign_problem_data(actor: Actor, batch: Batch, *, comment: str = ""):
    """A3: the problem rows the quality checks kept out of a batch go to its provider as one case: it
    verifies and corrects them within the rulebook's deadline and reports what it did (SYS Art. 28(2))."""
    batch = Batch.objects.select_for_update().select_related("provider", "resource").get(pk=batch.pk)
    _check_assigner(actor, batch.provider)
    issues = batch.issues.exclude(rule=REPORTED).filter(status__in=[QualityIssue.Status.OPEN, QualityIssue.Status.ASSIGNED])
    count = issues.count()
    if not count:
        raise Conflict("该批次没有待更正的问题数据", field="batch", code="no_problems")
    rules = sorted(set(issues.values_list("rule", flat=True)))
    case = _open_problem_case(
        actor, batch, provider=batch.provider, title=f"问题数据核实更正：{batch.resource.name}（批次 {batch.pk}，{count} 处）",
        comment=(comment or "").strip() or "质量检查发现的问题数据：" + "、".join(quality.MESSAGES.get(r, r) for r in rules),
    )
    issues.filter(status=QualityIssue.Status.OPEN).update(status=QualityIssue.Status.ASSIGNED, updated_at=timezone.now())
    record(actor, "warehouse.assign_problem_data", batch, after={"case": case.number, "issues": count, "rules": rules,
                                                                "provider": batch.provider_id})
    return case


@service
def report_problem_data(actor: Actor, resource: Resource, *, column: str, message: str, value: str = ""):
    """A3: a problem found in a resource's data outside the checks (cross-verification, a user's report) is
    kept as problem data of the batch in force and assigned to the provider like the checks' own."""
    from foundation.errors import refuse_if

    _check_assigner(actor, resource.provider)
    errors: dict[str, list[str]] = {}
    if not resource.items.filter(column=column).exists():
        errors.setdefault("column", []).append("请选择有问题的数据项")
    if not (message or "").strip():
        errors.setdefault("message", []).append("请说明问题")
    refuse_if(errors)
    snapshot = Snapshot.objects.filter(resource=resource).select_related("batch").order_by("-version").first()
    if snapshot is None or snapshot.batch is None:
        raise Conflict("该目录尚无汇聚的数据", field="resource", code="no_data")
    # row 0: not a row of the delivered file; the message says which record
    issue = QualityIssue.objects.create(batch=snapshot.batch, row=0, column=column, value=(value or "")[:200], rule=REPORTED,
                                        message=message.strip()[:200], status=QualityIssue.Status.ASSIGNED)
    case = _open_problem_case(actor, issue, provider=resource.provider,
                              title=f"问题数据核实更正：{resource.name}·{column}", comment=issue.message)
    record(actor, "warehouse.report_problem_data", issue, after={"case": case.number, "resource": resource.code,
                                                                "column": column, "provider": resource.provider_id})
    return case


@service
def request_governance(actor: Actor, *, subject: str, detail: str, resources: Iterable[Resource] = ()) -> GovernanceRequest:
    """SYS Art. 17(3): an agency asks the data bureau of its level to govern data with it (duplicates, gaps,
    inconsistencies across agencies); the bureau answers within the rulebook's deadline. The entries it
    names are its own or published ones."""
    from core.selectors import bureau_for
    from foundation.errors import refuse_if
    from workflow.services import open_case

    permissions.require(actor, "warehouse.request_governance", organisation=actor.organisation)
    resources = list(resources)
    errors: dict[str, list[str]] = {}
    if not (subject or "").strip():
        errors.setdefault("subject", []).append("请填写治理事项")
    if not (detail or "").strip():
        errors.setdefault("detail", []).append("请说明问题与需求")
    if any(r.provider_id != actor.organisation.pk and r.published_version is None for r in resources):
        errors.setdefault("resources", []).append("只能列出本单位的目录或已发布的目录")
    refuse_if(errors)
    bureau = bureau_for(actor.organisation.region)
    if bureau is None:
        raise Conflict("本级没有公共数据主管部门", code="no_bureau")
    request = GovernanceRequest.objects.create(applicant=actor.organisation, requested_by=actor.user,
                                               subject=subject.strip()[:200], detail=detail.strip())
    request.resources.set(resources)
    request.case = open_case(actor, case_type="governance_request", subject=request, title=f"数据治理需求：{request.subject}",
                             parties={"bureau": bureau}, initial="bureau_review", label="提出治理需求")
    request.save(update_fields=["case", "updated_at"])
    record(actor, "warehouse.request_governance", request, after={"subject": request.subject, "case": request.case.number,
                                                                   "resources": [r.code for r in resources]})
    return request


def resolve_problem_data(actor: Actor, case) -> int:
    """Hook: the assigner accepted the provider's report — the case's problem data is corrected."""
    subject = case.subject
    if isinstance(subject, QualityIssue):
        issues = QualityIssue.objects.filter(pk=subject.pk)
    else:
        issues = subject.issues.exclude(rule=REPORTED).filter(status=QualityIssue.Status.ASSIGNED)
    corrected = issues.update(status=QualityIssue.Status.CORRECTED, updated_at=timezone.now())
    record(actor, "warehouse.resolve_problem_data", subject, after={"case": case.number, "corrected": corrected})
    return corrected


def collect_garbage(actor: Actor, *, stale_after: dt.timedelta | None = None) -> list[str]:
    """After a crash: remove snapshot directories no committed snapshot refers to, and close the batches
    that were interrupted while being checked."""
    stale_after = stale_after if stale_after is not None else dt.timedelta(minutes=settings.GONGSHU_BATCH_STALE_MINUTES)
    referenced = set(Snapshot.objects.values_list("path", flat=True))
    removed = []
    for path in storage.unreferenced(referenced):
        storage.discard(path / "data.parquet")
        removed.append(str(path))
    interrupted = fail_stale_batches(actor, stale_after=stale_after)
    if removed:
        record(actor, "warehouse.collect_garbage", ("warehouse.storage", "orphans"),
               detail={"removed": len(removed), "interrupted_batches": interrupted})
    return removed


STALE_MESSAGE = "汇聚过程中断（处理进程已停止），批次未发布，请重新提交"


def fail_stale_batches(actor: Actor, *, stale_after: dt.timedelta | None = None) -> list[int]:
    """Scheduled: batches left in "checking" by a process that was killed are refused (with the reason,
    audited) once they have not moved for GONGSHU_BATCH_STALE_MINUTES — each stage of a running ingest
    moves its batch. Never at a worker's start: another worker may be checking one of them right now.
    Returns the batches refused."""
    permissions.require(actor, "warehouse.fail_stale_batches")
    stale_after = stale_after if stale_after is not None else dt.timedelta(minutes=settings.GONGSHU_BATCH_STALE_MINUTES)
    cutoff = timezone.now() - stale_after
    failed = []
    for batch in Batch.objects.filter(status=Batch.Status.CHECKING, updated_at__lte=cutoff).select_related("resource"):
        with transaction.atomic():
            now = timezone.now()
            # only if it has not moved meanwhile (a slow ingest that just reached its next stage goes on)
            if not Batch.objects.filter(pk=batch.pk, status=Batch.Status.CHECKING, updated_at__lte=cutoff).update(
                    status=Batch.Status.REFUSED, message=STALE_MESSAGE, finished_at=now, updated_at=now):
                continue
            record(actor, "warehouse.refuse_batch", batch, outcome="refused", detail={
                "resource": batch.resource.code, "message": STALE_MESSAGE, "stage": batch.stage,
                "last_moved": batch.updated_at.isoformat(), "stale_minutes": int(stale_after.total_seconds() // 60)})
        if batch.upload:
            shutil.rmtree(uploads_root() / batch.upload, ignore_errors=True)  # the queued file it was reading
        failed.append(batch.pk)
    return failed


def flag_stale_data(actor: Actor) -> int:
    """Scheduled (A2): tell the provider and the bureau about data older than its update frequency allows,
    once for each time it goes stale."""
    from core.models import Notification
    from core.selectors import bureau_for
    from core.services import notify

    from .selectors import freshness

    permissions.require(actor, "warehouse.flag_stale_data")
    flagged = 0
    with transaction.atomic():
        for row in freshness(actor):
            if not row.stale:
                continue
            resource = row.resource
            link = f"/data/{resource.pk}/"
            since = row.last_update or resource.published_at
            if Notification.objects.filter(kind="stale", link=link, created_at__gte=since).exists():
                continue
            message = (f"数据更新不及时：{resource.name}（{resource.get_update_frequency_display()}更新），"
                       f"最近一次汇聚 {row.last_update:%Y-%m-%d}" if row.last_update else f"数据尚未汇聚：{resource.name}")
            for organisation in {resource.provider, bureau_for(resource.provider.region)} - {None}:
                notify(organisation=organisation, kind="stale", message=message, link=link)
            record(actor, "warehouse.flag_stale_data", resource, detail={
                "last_update": row.last_update, "allowed_days": row.allowed_days, "rule": f"freshness.{resource.update_frequency}",
            })
            flagged += 1
    return flagged


def purge_usage_logs(actor: Actor) -> int:
    """Usage logs are kept at least as long as the rulebook says (SYS Art. 20: three years), then removed."""
    from .models import UsageLog

    permissions.require(actor, "warehouse.purge_usage_logs")
    usage.catch_up()  # nothing read before the cut-off is left to copy afterwards
    years = int(rulebook.value("usage_log.retention"))
    now = timezone.localtime()
    day = workdays.add_months(now.date(), -12 * years)  # by the calendar: the same day that many years ago
    cutoff = now.replace(year=day.year, month=day.month, day=day.day)
    with transaction.atomic():
        count, _ = UsageLog.objects.filter(at__lt=cutoff).delete()
        if count:
            record(actor, "warehouse.purge_usage_logs", ("warehouse.usagelog", "retention"), detail={
                "deleted": count, "before": cutoff, "rule": "usage_log.retention",
            })
    return count


# --- front-end machines (A1) --------------------------------------------------------------------


@service
def register_front_end(actor: Actor, *, name: str, public_key: str):
    """The agency registers the public key of its front-end machine."""
    from foundation import signing

    from .models import FrontEndMachine

    permissions.require(actor, "warehouse.register_front_end", organisation=actor.organisation)
    if not signing.is_public_key(public_key):
        raise ValidationFailed("公钥须为 Ed25519 公钥（32 字节，Base64）", field="public_key")
    if not name.strip():
        raise ValidationFailed("请填写前置机名称", field="name")
    if FrontEndMachine.objects.filter(organisation=actor.organisation, name=name.strip()).exists():
        raise Conflict("同名前置机已登记", field="name")
    machine = FrontEndMachine.objects.create(organisation=actor.organisation, name=name.strip(), public_key=public_key)
    record(actor, "warehouse.register_front_end", machine, after={"name": machine.name})
    return machine


def authenticate_push(request, *, body: bytes) -> Actor:
    """The machine's organisation as the actor, if the push is signed by a registered, unrevoked machine,
    fresh, and not a replay (``core.signed``); otherwise a refusal, counted for the client address and minute
    as every refusal of an unknown sender is."""
    from core.signed import authenticate
    from foundation.actor import machine_actor
    from foundation.errors import NotAuthenticated

    from . import frontend
    from .models import FrontEndMachine

    def find(machine_id: str):
        known = machine_id.isdigit() and len(machine_id) < 19  # an id the database can hold
        machine = FrontEndMachine.objects.select_related("organisation__region").filter(pk=int(machine_id)).first() if known else None
        if machine is None or machine.revoked_at is not None:
            raise NotAuthenticated("前置机未登记或已停用", code="machine_unknown")
        return machine.public_key, machine

    machine = authenticate(request, scope="front_end", sender_header=frontend.HEADERS[0], find=find, body=body,
                           action="warehouse.authenticate_push",
                           token=lambda name: f"front-end:{name[:18]}" if name.isdigit() and len(name) < 19 else "")
    FrontEndMachine.objects.filter(pk=machine.pk).update(last_push_at=timezone.now())
    return machine_actor(machine.organisation, f"front-end:{machine.name}", frozenset({"front_end_machine"}),
                         channel="api", request_id=getattr(request, "request_id", ""))


# --- database extraction (A1) -------------------------------------------------------------------
# Extraction reads only a registered source database that the bureau of the agency's region approved
# (a source_database_review case), and re-checks it at every run: see warehouse.extract.

_PASSWORD_PURPOSE = b"source-database-password"


def _location(source):
    import base64

    from . import extract
    from .crypto import unseal

    password = unseal(base64.b64decode(source.password_sealed), _PASSWORD_PURPOSE).decode() if source.password_sealed else ""
    return extract.Location(kind=source.kind, path=source.path, host=source.host, port=source.port,
                            database=source.database, user=source.user, password=password)


def _allowed_networks(organisation) -> list[str]:
    """The allowlist that applies to an organisation's sources: its bureau's and those of the regions above."""
    from .models import SourceHostAllowlist

    return list(SourceHostAllowlist.objects.filter(region__in=organisation.region.ancestors_and_self())
                .values_list("network", flat=True))


def _check_source(source) -> None:
    """What can be checked without connecting: the file under the import directory, or the host's addresses
    on the allowlist (connecting is left to the run, which checks the rest)."""
    from . import extract

    if source.kind == source.Kind.SQLITE:
        extract.check_sqlite(source.path)
    else:
        extract.check_postgresql(_location(source))
        extract.allowed_addresses(source.host, source.port, _allowed_networks(source.organisation))


@service
def register_source_database(actor: Actor, *, name: str, kind: str, path: str = "", host: str = "", port: int | None = None,
                             database: str = "", user: str = "", password: str = ""):
    """The agency registers a database it wants extracted; the bureau of its region approves it before any run."""
    import base64

    from core.selectors import bureau_for
    from workflow.services import open_case

    from .crypto import seal
    from .models import SourceDatabase

    permissions.require(actor, "warehouse.register_source_database", organisation=actor.organisation)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("请填写源数据库名称（100 字以内）", field="name")
    if kind not in SourceDatabase.Kind.values:
        raise ValidationFailed("数据库类型须为 postgresql 或 sqlite", field="kind")
    if kind == SourceDatabase.Kind.SQLITE and (host or port or database or user or password):
        raise ValidationFailed("SQLite 源只填文件路径", field="host")
    if kind == SourceDatabase.Kind.POSTGRESQL and path:
        raise ValidationFailed("PostgreSQL 源不填文件路径", field="path")
    if SourceDatabase.objects.filter(organisation=actor.organisation, name=name,
                                     status__in=[SourceDatabase.Status.PENDING, SourceDatabase.Status.APPROVED]).exists():
        raise Conflict("本部门已登记同名的源数据库", field="name", code="duplicate_source")
    bureau = bureau_for(actor.organisation.region)
    if bureau is None:
        raise Conflict("本区域没有公共数据主管部门审核源数据库", code="no_bureau")
    source = SourceDatabase(organisation=actor.organisation, name=name, kind=kind, path=path or "", host=host or "",
                            port=port, database=database or "", user=user or "", registered_by=actor.user)
    if password:
        source.password_sealed = base64.b64encode(seal(password.encode(), _PASSWORD_PURPOSE)).decode()
    _check_source(source)
    source.save()
    source.case = open_case(actor, case_type="source_database_review", subject=source,
                            title=f"{actor.organisation.name}登记源数据库“{name}”（{source.location}）",
                            parties={"owner": actor.organisation, "bureau": bureau}, initial="bureau_review",
                            label="登记", comment=source.location)
    source.save(update_fields=["case"])
    record(actor, "warehouse.register_source_database", source, after={
        "name": name, "kind": kind, "location": source.location, "case": source.case.number,
    })
    return source


def _decided(actor: Actor, case, status: str, action: str):
    from core.services import notify

    from .models import SourceDatabase

    source = SourceDatabase.objects.select_for_update().select_related("organisation__region").get(pk=case.subject_id)
    before = source.status
    if status == SourceDatabase.Status.APPROVED:
        _check_source(source)  # still under the import directory / on the allowlist when the bureau approves
    step = case.steps.order_by("-pk").first()
    source.status, source.status_reason = status, step.comment if step else ""
    source.save(update_fields=["status", "status_reason", "updated_at"])
    record(actor, f"warehouse.{action}", source, before={"status": before}, after={"status": status, "case": case.number})
    notify(organisation=source.organisation, kind="case", message=f"源数据库“{source.name}”：{source.get_status_display()}",
           link=f"/cases/{case.number}/")
    return source


def approve_source_database(actor: Actor, case):
    """Hook: the bureau approved — the source may be extracted from."""
    return _decided(actor, case, "approved", "approve_source_database")


def refuse_source_database(actor: Actor, case):
    """Hook: the bureau refused, with its reasons."""
    return _decided(actor, case, "refused", "refuse_source_database")


def withdraw_source_database(actor: Actor, case):
    """Hook: the agency withdrew its registration before the decision."""
    return _decided(actor, case, "withdrawn", "withdraw_source_database")


def _set_source_status(actor: Actor, source, action: str, *, reason: str, expected: str, status: str):
    from core.services import notify

    from .models import SourceDatabase

    source = SourceDatabase.objects.select_for_update().select_related("organisation__region").get(pk=source.pk)
    permissions.require(actor, action, organisation=source.organisation)  # the act's permission bears its name
    if not (reason or "").strip():
        raise ValidationFailed("请说明理由", field="reason", code="reason_required")
    if source.status != expected:
        raise Conflict(f"源数据库当前为“{source.get_status_display()}”", code="wrong_state")
    if status == SourceDatabase.Status.APPROVED:
        _check_source(source)
    source.status, source.status_reason = status, reason.strip()
    source.save(update_fields=["status", "status_reason", "updated_at"])
    record(actor, action, source, before={"status": expected}, after={"status": status}, detail={"reason": source.status_reason})
    notify(organisation=source.organisation, kind="case",
           message=f"源数据库“{source.name}”已{'暂停抽取' if status == 'suspended' else '恢复抽取'}：{source.status_reason}")
    return source


@service
def suspend_source_database(actor: Actor, source, *, reason: str):
    """The bureau stops extraction from an approved source (a suspended source never runs)."""
    return _set_source_status(actor, source, "warehouse.suspend_source_database", reason=reason, expected="approved",
                              status="suspended")


@service
def reinstate_source_database(actor: Actor, source, *, reason: str):
    """The bureau lets a suspended source be extracted from again (checked again first)."""
    return _set_source_status(actor, source, "warehouse.reinstate_source_database", reason=reason, expected="suspended",
                              status="approved")


@service
def add_source_host(actor: Actor, *, network: str, note: str):
    """The bureau allows PostgreSQL source databases in a network (an address or CIDR) of its region."""
    from . import extract
    from .models import SourceHostAllowlist

    permissions.require(actor, "warehouse.add_source_host", region=actor.organisation.region)
    parsed = str(extract.parse_network(network))
    if not (note or "").strip():
        raise ValidationFailed("请说明该网段是哪个部门的数据库", field="note")
    region = actor.organisation.region
    if SourceHostAllowlist.objects.filter(region=region, network=parsed).exists():
        raise Conflict("白名单中已有该网段", field="network", code="duplicate_host")
    entry = SourceHostAllowlist.objects.create(region=region, network=parsed, note=note.strip()[:200], added_by=actor.user)
    record(actor, "warehouse.add_source_host", entry, after={"network": parsed, "region": region.code, "note": entry.note})
    return entry


@service
def remove_source_host(actor: Actor, entry):
    """The bureau takes a network off its allowlist: sources there stop at their next run."""
    permissions.require(actor, "warehouse.remove_source_host", region=entry.region)
    record(actor, "warehouse.remove_source_host", entry, before={"network": entry.network, "region": entry.region.code})
    entry.delete()


@service
def register_extraction(actor: Actor, resource: Resource, *, source_database, table: str, mode: str = "full",
                        watermark_column: str = "", interval_minutes: int | None = None):
    """An agency names the approved source database and the table the platform extracts a resource from."""
    from foundation.errors import PermissionDenied

    from . import extract
    from .models import ExtractionSource, SourceDatabase

    permissions.require(actor, "warehouse.register_extraction", organisation=resource.provider)
    if source_database.organisation_id != resource.provider_id:
        raise PermissionDenied("只能从提供部门自己登记的源数据库抽取", field="source_database", code="other_organisation")
    if source_database.status != SourceDatabase.Status.APPROVED:
        raise Conflict(f"源数据库“{source_database.name}”{source_database.get_status_display()}，须经主管部门批准后才能抽取",
                       field="source_database", code="not_approved")
    if mode not in ExtractionSource.Mode.values:
        raise ValidationFailed("抽取方式须为 full 或 incremental", field="mode")
    extract.check_table(source_database.kind, table)
    if mode == ExtractionSource.Mode.INCREMENTAL:
        extract.check_identifier(watermark_column, "watermark_column")
        if not resource.items.filter(is_key=True).exists():
            raise ValidationFailed("增量抽取须有主键数据项", field="mode")
    if interval_minutes is None:
        interval_minutes = int(rulebook.value("extraction.interval_default"))
    shortest, longest = int(rulebook.value("extraction.interval_min")), int(rulebook.value("extraction.interval_max"))
    if not shortest <= interval_minutes <= longest:
        raise ValidationFailed(f"抽取间隔须在 {shortest} 到 {longest} 分钟之间（{rulebook.rule('extraction.interval_min').article}）",
                               field="interval_minutes")
    source = ExtractionSource.objects.create(resource=resource, source_database=source_database, table=table, mode=mode,
                                             watermark_column=watermark_column, interval_minutes=interval_minutes)
    record(actor, "warehouse.register_extraction", source, after={
        "resource": resource.code, "source_database": source_database.pk, "table": table, "mode": mode,
    })
    return source


def _refuse_run(actor: Actor, source, error: GongshuError, ids: dict) -> None:
    """A run the checks refused: audited with the source's ids, the provider told; nothing read, no batch."""
    from audit.services import record_refusal
    from core.services import notify

    record_refusal(actor, "warehouse.run_extraction", error, source, detail=ids)
    notify(organisation=source.resource.provider, kind="extraction",
           message=f"库表抽取未执行（{source.resource.name}，{source.table}）：{error.message}", link=f"/data/{source.resource_id}/")


def run_extraction(actor: Actor, source) -> Batch | None:
    """Extract now: check the source again, read the rows (past the watermark when incremental) and deliver
    them as a batch. A refused source raises ``SourceRefused`` (audited, nothing read); a source that fails
    (down, no such table) gives a refused batch; nothing new to read gives None."""
    from . import extract
    from .models import SourceDatabase

    resource, database = source.resource, source.source_database
    ids = {"extraction_source": source.pk, "source_database": database.pk if database else None}
    columns = [i.column for i in resource.items.order_by("position")]
    incremental = source.mode == "incremental"
    try:
        if database is None:
            raise extract.SourceRefused("抽取计划未指向登记的源数据库，须重新登记并经主管部门批准", code="needs_registration")
        if database.status != SourceDatabase.Status.APPROVED:
            raise extract.SourceRefused(f"源数据库“{database.name}”{database.get_status_display()}，不能抽取", code="not_approved")
        if database.organisation_id != resource.provider_id:
            raise extract.SourceRefused("源数据库不属于该目录的提供部门", code="other_organisation")
        table = extract.read(_location(database), allowed=_allowed_networks(database.organisation), table=source.table,
                             columns=columns, watermark_column=source.watermark_column if incremental else "",
                             after=source.watermark if incremental else "")
    except GongshuError as exc:
        _refuse_run(actor, source, exc, ids)
        raise
    except Exception as exc:  # the agency's database is down, the table is gone, …
        batch = _open_batch(actor, resource, channel=Batch.Channel.EXTRACT, mode="delta" if incremental else "full",
                            filename=f"{database.kind}:{source.table}")
        batch = _refuse(actor, batch, f"抽取失败：{(str(exc).splitlines() or [type(exc).__name__])[0][:200]}")
        record(actor, "warehouse.run_extraction", source, detail={**ids, "batch": batch.pk, "status": batch.status})
        return batch
    high = None
    if incremental and table.num_rows:
        high = table.column(source.watermark_column)[table.num_rows - 1].as_py()
    if incremental and source.watermark_column not in columns:
        table = table.drop_columns([source.watermark_column])
    if incremental and table.num_rows == 0:
        type(source).objects.filter(pk=source.pk).update(last_run_at=timezone.now())
        record(actor, "warehouse.run_extraction", source, detail={**ids, "batch": None, "rows": 0})
        return None
    batch = ingest_table(actor, resource, table, channel=Batch.Channel.EXTRACT, mode="delta" if incremental else "full",
                         filename=f"{database.kind}:{source.table}")
    updates = {"last_run_at": timezone.now()}
    if batch.status == Batch.Status.PUBLISHED and high is not None:
        updates["watermark"] = high
    type(source).objects.filter(pk=source.pk).update(**updates)
    record(actor, "warehouse.run_extraction", source, detail={**ids, "batch": batch.pk, "status": batch.status,
                                                             "rows": batch.rows_received})
    return batch


def run_due_extractions(actor: Actor) -> int:
    """Scheduled: every extraction of an approved source whose interval has passed (a refused one is audited
    and skipped until its next interval)."""
    from .models import ExtractionSource, SourceDatabase

    permissions.require(actor, "warehouse.run_due_extractions")
    done = 0
    due = ExtractionSource.objects.filter(source_database__status=SourceDatabase.Status.APPROVED)
    for source in due.select_related("resource__provider", "source_database__organisation__region"):
        if source.last_run_at is None or source.last_run_at + dt.timedelta(minutes=source.interval_minutes) <= timezone.now():
            try:
                run_extraction(acting_for(actor, source.resource.provider), source)  # the provider's schedule
            except GongshuError:
                type(source).objects.filter(pk=source.pk).update(last_run_at=timezone.now())
                continue
            done += 1
    return done


# --- corrections (S5) -------------------------------------------------------------------------


def _text(value) -> str:
    """A stored value as the text a delivery carries (empty for null), as the engine would cast it."""
    from .masking import as_text

    return "" if value is None else as_text(value)


def current_record(resource: Resource, key: dict[str, str]) -> dict | None:
    """The raw record of ``resource`` with these key values in its current snapshot (for the warehouse's own
    work: a correction's before and after). Never for output: reads go through the query path."""
    from . import lookup
    from .query import arrow_of, snapshot_of

    snapshot = snapshot_of(resource)
    if sorted(key) != sorted(snapshot.key_columns):
        raise ValidationFailed(f"须给出主键：{'、'.join(snapshot.key_columns)}", field="key", code="key_columns")
    first = snapshot.key_columns[0]
    found = lookup.find(snapshot, first, [key[first]]) if len(key) == 1 else arrow_of(snapshot)
    for row in found.to_pylist():
        if all(_text(row[k]) == str(v) for k, v in key.items()):
            return row
    return None


def correct_record(actor: Actor, resource: Resource, key: dict[str, str], changes: dict[str, str], *, reference: str) -> Batch:
    """S5: the verified correction of one record, published as a new snapshot (a delta merged by key) that
    passes the same quality checks as any delivery; refused whole if it does not."""
    row = current_record(resource, key)
    if row is None:
        raise NotFound("当前数据中没有这条记录", field="key", code="no_record")
    unknown = [c for c in changes if c not in row or c in key]
    if unknown:
        raise ValidationFailed(f"不能更正这些数据项：{'、'.join(unknown)}", field="column")
    corrected = {column: _text(value) for column, value in row.items()} | {k: str(v) for k, v in changes.items()}
    batch = ingest_table(actor, resource, pa.table({k: [v] for k, v in corrected.items()}), channel=Batch.Channel.CORRECTION,
                         mode=Batch.Mode.DELTA, filename=reference)
    if batch.status != Batch.Status.PUBLISHED:
        raise ValidationFailed(f"更正后的记录未通过质量检查：{batch.message}", field="claimed_value", code="quality")
    return batch
