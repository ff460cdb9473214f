"""Writes of the warehouse: batches in, snapshots published, problem rows assigned.

Ingestion does its file work outside any database transaction (a large file must not hold the
database's write lock) and writes to the database in short transactions: open the batch, then either
publish the snapshot (version, mount, audit) or refuse the batch (reasons, problem rows, audit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import record, service
from catalog.models import Resource
from core import permissions, rulebook
from core.actor import Actor
from core.errors import Conflict, GongshuError, ValidationFailed

from . import quality, readers, storage
from .models import Batch, QualityIssue, Snapshot

MAX_ISSUES = 100_000
_CASTS = {"integer": pa.int64(), "decimal": pa.float64(), "boolean": pa.bool_()}


def _columns(resource: Resource) -> list[quality.Column]:
    return [
        quality.Column(
            column=i.column, data_type=i.data_type, required=i.required or i.is_key, is_key=i.is_key,
            identifier=i.sensitivity if i.sensitivity in ("citizen_id", "uscc") else "",
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


def _typed(table: pa.Table, columns: list[quality.Column]) -> pa.Table:
    """Cast checked text columns to their item formats (empty text becomes null)."""
    out = {}
    for spec in columns:
        values = table.column(spec.column)
        values = pc.if_else(pc.equal(pc.utf8_trim_whitespace(values), ""), pa.scalar(None, pa.string()), values)
        if spec.data_type in _CASTS:
            if spec.data_type == "boolean":
                values = pc.is_in(values, pa.array(["true", "TRUE", "True", "1", "是"]))
            else:
                values = pc.cast(values, _CASTS[spec.data_type])
        elif spec.data_type == "date":
            values = pc.cast(pc.strptime(values, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
        elif spec.identifier:
            values = pc.utf8_upper(values)
        out[spec.column] = values
    return pa.table(out)


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


def _open_batch(actor: Actor, resource: Resource, *, channel: str, mode: str, filename: str) -> Batch:
    permissions.require(actor, "data.ingest", organisation=resource.provider)
    if resource.published_version is None:
        raise Conflict("目录尚未发布，不能汇聚数据（先编目、后汇聚）", field="resource", code="unpublished")
    if mode not in Batch.Mode.values:
        raise ValidationFailed("汇聚方式须为 full 或 delta", field="mode")
    if mode == Batch.Mode.DELTA and not resource.items.filter(is_key=True).exists():
        raise ValidationFailed("增量汇聚须有主键数据项", field="mode")
    with transaction.atomic():
        batch = Batch.objects.create(resource=resource, provider=resource.provider, submitted_by=actor.user,
                                     channel=channel, mode=mode, filename=filename[:255])
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
                 filename: str = "", encoding: str = "", sha256: str = "", progress: Callable | None = None) -> Batch:
    """Check a delivery whole; publish it as a new snapshot, or refuse it whole (A3, A4)."""
    batch = _open_batch(actor, resource, channel=channel, mode=mode, filename=filename)
    batch.encoding, batch.sha256 = encoding, sha256
    step = progress or (lambda stage: None)
    try:
        table = _map_header(table, resource)
    except ValidationFailed as exc:
        return _refuse(actor, batch, exc.message)
    batch.rows_received = table.num_rows
    if table.num_rows == 0:
        return _refuse(actor, batch, "批次没有数据行")
    step("checking")
    columns = _columns(resource)
    keys = [c.column for c in columns if c.is_key]
    order = quality.sort_order(table, keys) if keys else None  # once: for duplicates and for the snapshot
    problems = quality.check(table, columns, today=timezone.localdate(), order=order)
    bad = problems.bad_rows(table.num_rows)
    batch.rows_refused = int(bad.sum())
    batch.rows_accepted = table.num_rows - batch.rows_refused
    batch.error_rate = batch.rows_refused / table.num_rows
    threshold = float(rulebook.value("quality.max_error_rate"))
    issues = _issues(batch, table, problems)
    if batch.error_rate > threshold:
        return _refuse(actor, batch, f"问题数据占 {batch.error_rate:.2%}，超过阈值 {threshold:.2%}（{rulebook.rule('quality.max_error_rate').article}），整批退回", issues)
    step("writing")
    rows = order[~bad[order]] if order is not None else np.flatnonzero(~bad)
    good = _typed(table.take(pa.array(rows)), columns)  # sorted by key already
    previous = Snapshot.objects.filter(resource=resource).order_by("-version").first()
    if mode == Batch.Mode.DELTA and previous is not None:
        from .query import arrow_of

        old = arrow_of(previous)
        kept = old.filter(pc.invert(pc.is_in(old.column(keys[0]), good.column(keys[0]))))
        good = pa.concat_tables([kept.cast(good.schema), good]).sort_by([(k, "ascending") for k in keys])
    encrypt = resource.items.filter(published_grade__encrypt_at_rest=True).exists()  # G1, SEC3
    staging, digest = storage.stage(good, encrypt=encrypt)
    step("publishing")
    return _publish(actor, batch, staging, digest, good, keys, issues, encrypt)


def _publish(actor, batch, staging: Path, digest: str, table: pa.Table, keys: list[str], issues, encrypted: bool) -> Batch:
    resource = batch.resource
    final = None
    try:
        with transaction.atomic():
            locked = Resource.objects.select_for_update().get(pk=resource.pk)
            version = (Snapshot.objects.filter(resource=locked).order_by("-version").values_list("version", flat=True).first() or 0) + 1
            final = storage.place(staging, locked.code, version)
            snapshot = Snapshot.objects.create(
                resource=locked, version=version, batch=batch, path=storage.relative(final), row_count=table.num_rows,
                columns=table.column_names, key_columns=keys, sha256=digest, encrypted=encrypted,
            )
            batch.status, batch.finished_at = Batch.Status.PUBLISHED, timezone.now()
            batch.message = f"已发布为第 {version} 版快照" + (f"，{batch.rows_refused} 行问题数据待更正" if batch.rows_refused else "")
            batch.save()
            QualityIssue.objects.bulk_create(issues, batch_size=5000)
            locked.mounted_at, locked.mount_ref = timezone.now(), f"snapshot v{version}"  # C6: the entry has data now
            locked.save(update_fields=["mounted_at", "mount_ref", "updated_at"])
            record(actor, "warehouse.publish_snapshot", snapshot, after={
                "resource": locked.code, "version": version, "rows": table.num_rows, "sha256": digest,
                "batch": batch.pk, "refused_rows": batch.rows_refused, "encrypted": encrypted,
            })
            storage.failpoint("before_commit")
    except BaseException:
        storage.discard(final or staging)
        raise
    return batch


def ingest_file(actor: Actor, resource: Resource, path: Path, *, filename: str | None = None, encoding: str | None = None,
                mode: str = "full", channel: str = Batch.Channel.UPLOAD, progress: Callable | None = None) -> Batch:
    """A file delivery (CSV in UTF-8/GBK/GB18030, XLSX, JSON, JSON Lines)."""
    filename = filename or path.name
    size = path.stat().st_size
    if size > settings.GONGSHU_MAX_UPLOAD_BYTES:
        raise ValidationFailed(f"文件大小 {size / 2**20:,.0f} MB 超过上限 {settings.GONGSHU_MAX_UPLOAD_BYTES / 2**20:,.0f} MB",
                               field="file", code="too_large")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    step = progress or (lambda stage: None)
    step("reading")
    try:
        table, used = readers.read(path, filename=filename, encoding=encoding)
    except GongshuError as exc:
        batch = _open_batch(actor, resource, channel=channel, mode=mode, filename=filename)
        batch.sha256 = digest.hexdigest()
        return _refuse(actor, batch, exc.message)
    return ingest_table(actor, resource, table, channel=channel, mode=mode, filename=filename, encoding=used,
                        sha256=digest.hexdigest(), progress=progress)


@service
def assign_issue(actor: Actor, issue: QualityIssue, *, assignee) -> QualityIssue:
    """Problem data is assigned to someone of the provider for correction (A3)."""
    permissions.require(actor, "data.ingest", organisation=issue.batch.provider)
    if not assignee.memberships.filter(organisation=issue.batch.provider).exists():
        raise ValidationFailed("只能分派给提供部门的人员", field="assignee")
    issue.assignee, issue.status = assignee, QualityIssue.Status.ASSIGNED
    issue.save(update_fields=["assignee", "status", "updated_at"])
    record(actor, "warehouse.assign_issue", issue, after={"assignee": assignee.username})
    return issue


def collect_garbage(actor: Actor, *, stale_after: dt.timedelta | None = None) -> list[str]:
    """After a crash: remove snapshot directories no committed snapshot refers to, and close the batches
    that were interrupted while being checked."""
    stale_after = stale_after if stale_after is not None else dt.timedelta(minutes=settings.GONGSHU_BATCH_STALE_MINUTES)
    referenced = set(Snapshot.objects.values_list("path", flat=True))
    removed = []
    for path in storage.unreferenced(referenced):
        storage.discard(path / "data.parquet")
        removed.append(str(path))
    with transaction.atomic():
        stale = Batch.objects.filter(status=Batch.Status.CHECKING, created_at__lte=timezone.now() - stale_after)
        interrupted = list(stale.values_list("pk", flat=True))
        stale.update(status=Batch.Status.REFUSED, message="汇聚过程中断，批次未发布", finished_at=timezone.now())
        if removed or interrupted:
            record(actor, "warehouse.collect_garbage", ("warehouse.storage", "orphans"),
                   detail={"removed": len(removed), "interrupted_batches": interrupted})
    return removed


def flag_stale_data(actor: Actor) -> int:
    """Scheduled (A2): tell the provider and the bureau about data older than its update frequency allows,
    once for each time it goes stale."""
    from core.models import Notification
    from core.selectors import bureau_for
    from core.services import notify

    from .selectors import freshness

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

    years = int(rulebook.value("usage_log.retention"))
    cutoff = timezone.now() - dt.timedelta(days=366 * years)
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
    import base64
    import binascii

    from .models import FrontEndMachine

    permissions.require(actor, "data.ingest", organisation=actor.organisation)
    try:
        raw = base64.b64decode(public_key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValidationFailed("公钥须为 Ed25519 公钥（32 字节，Base64）", field="public_key")
    if not name.strip():
        raise ValidationFailed("请填写前置机名称", field="name")
    if FrontEndMachine.objects.filter(organisation=actor.organisation, name=name.strip()).exists():
        raise Conflict("同名前置机已登记", field="name")
    machine = FrontEndMachine.objects.create(organisation=actor.organisation, name=name.strip(), public_key=public_key)
    record(actor, "warehouse.register_front_end", machine, after={"name": machine.name})
    return machine


def authenticate_push(*, headers, method: str, path_with_query: str, body: bytes, request_id: str = "") -> Actor:
    """The machine's organisation as the actor, if the push is signed by a registered, unrevoked machine,
    fresh, and not a replay; otherwise a refusal (audited)."""
    from core.actor import machine_actor, system_actor
    from core.errors import NotAuthenticated

    from . import frontend
    from .models import FrontEndMachine, PushNonce

    window = dt.timedelta(seconds=settings.GONGSHU_PUSH_WINDOW_SECONDS)
    machine_id, timestamp, nonce, signature = (headers.get(h, "") for h in frontend.HEADERS)
    try:
        machine = FrontEndMachine.objects.select_related("organisation__region").filter(pk=int(machine_id or 0)).first()
        if machine is None or machine.revoked_at is not None:
            raise NotAuthenticated("前置机未登记或已停用", code="machine_unknown")
        if not frontend.within_window(timestamp, window):
            raise NotAuthenticated("请求时间超出允许范围", code="stale_request")
        if not (8 <= len(nonce) <= 64):
            raise NotAuthenticated("缺少随机数", code="nonce_missing")
        if not frontend.verify_signature(machine.public_key, signature, frontend.message(method, path_with_query, timestamp, nonce, body)):
            raise NotAuthenticated("签名无效", code="bad_signature")
        with transaction.atomic():
            PushNonce.objects.filter(at__lt=timezone.now() - 2 * window).delete()
            if PushNonce.objects.filter(machine=machine, nonce=nonce).exists():
                raise NotAuthenticated("重放的请求", code="replayed")
            PushNonce.objects.create(machine=machine, nonce=nonce)
            FrontEndMachine.objects.filter(pk=machine.pk).update(last_push_at=timezone.now())
    except NotAuthenticated as exc:
        from audit.services import record_refusal

        record_refusal(system_actor("api"), "warehouse.authenticate_push", exc, ("warehouse.frontendmachine", machine_id))
        raise
    return machine_actor(machine.organisation, f"front-end:{machine.name}", frozenset({"front_end_machine"}),
                         channel="api", request_id=request_id)


# --- database extraction (A1) -------------------------------------------------------------------


@service
def register_extraction(actor: Actor, resource: Resource, *, kind: str, dsn: str, table: str, mode: str = "full",
                        watermark_column: str = "", interval_minutes: int = 1440):
    """An agency names the database and table the platform extracts a resource from; the DSN is sealed."""
    import base64

    from . import extract
    from .crypto import seal
    from .models import ExtractionSource

    permissions.require(actor, "data.ingest", organisation=resource.provider)
    if kind not in ExtractionSource.Kind.values:
        raise ValidationFailed("数据库类型须为 postgresql 或 sqlite", field="kind")
    if mode not in ExtractionSource.Mode.values:
        raise ValidationFailed("抽取方式须为 full 或 incremental", field="mode")
    extract.check_identifier(table, "table")
    if mode == ExtractionSource.Mode.INCREMENTAL:
        extract.check_identifier(watermark_column, "watermark_column")
        if not resource.items.filter(is_key=True).exists():
            raise ValidationFailed("增量抽取须有主键数据项", field="mode")
    if not 5 <= interval_minutes <= 7 * 1440:
        raise ValidationFailed("抽取间隔须在 5 分钟到 7 天之间", field="interval_minutes")
    source = ExtractionSource.objects.create(
        resource=resource, kind=kind, dsn_sealed=base64.b64encode(seal(dsn.encode(), b"extraction-dsn")).decode(),
        table=table, mode=mode, watermark_column=watermark_column, interval_minutes=interval_minutes,
    )
    record(actor, "warehouse.register_extraction", source, after={"resource": resource.code, "kind": kind, "table": table, "mode": mode})
    return source


def run_extraction(actor: Actor, source) -> Batch:
    """Extract now: read the rows (past the watermark when incremental) and deliver them as a batch."""
    import base64

    from . import extract
    from .crypto import unseal

    resource = source.resource
    dsn = unseal(base64.b64decode(source.dsn_sealed), b"extraction-dsn").decode()
    columns = [i.column for i in resource.items.order_by("position")]
    incremental = source.mode == "incremental"
    try:
        table = extract.read(source.kind, dsn, table=source.table, columns=columns,
                             watermark_column=source.watermark_column if incremental else "",
                             after=source.watermark if incremental else "")
    except Exception as exc:  # the agency's database is down, the table is gone, …
        batch = _open_batch(actor, resource, channel=Batch.Channel.EXTRACT, mode="delta" if incremental else "full",
                            filename=f"{source.kind}:{source.table}")
        return _refuse(actor, batch, f"抽取失败：{str(exc).splitlines()[0][:200]}")
    high = None
    if incremental and table.num_rows:
        high = table.column(source.watermark_column)[table.num_rows - 1].as_py()
    if incremental and source.watermark_column not in columns:
        table = table.drop_columns([source.watermark_column])
    if incremental and table.num_rows == 0:
        type(source).objects.filter(pk=source.pk).update(last_run_at=timezone.now())
        return None
    batch = ingest_table(actor, resource, table, channel=Batch.Channel.EXTRACT, mode="delta" if incremental else "full",
                         filename=f"{source.kind}:{source.table}")
    updates = {"last_run_at": timezone.now()}
    if batch.status == Batch.Status.PUBLISHED and high is not None:
        updates["watermark"] = high
    type(source).objects.filter(pk=source.pk).update(**updates)
    return batch


def run_due_extractions(actor: Actor) -> int:
    """Scheduled: every extraction whose interval has passed."""
    from .models import ExtractionSource

    done = 0
    for source in ExtractionSource.objects.select_related("resource"):
        due = source.last_run_at is None or source.last_run_at + dt.timedelta(minutes=source.interval_minutes) <= timezone.now()
        if due:
            run_extraction(actor, source)
            done += 1
    return done
