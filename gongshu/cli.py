"""``gongshu``: every operator task on the command line. ``gongshu --help`` lists them."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import click


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongshu.settings")
    import django

    django.setup()


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date in ISO format (YYYY-MM-DD)") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """公数 Gongshu: the city public-data platform's operator commands."""


# --- set-up and serving ----------------------------------------------------------------------


@main.command()
def migrate():
    """Create or upgrade the metadata database (and seed the working-day calendar)."""
    _django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web worker processes")
@click.option("--no-worker", is_flag=True, help="do not start the background worker")
def serve(host, port, workers, no_worker):
    """Serve the web UI and API (gunicorn) and run the background worker beside it."""
    _django()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    children = []
    if not no_worker:
        children.append(subprocess.Popen([sys.executable, "-m", "gongshu.cli", "worker"]))
    web = subprocess.Popen([
        sys.executable, "-m", "gunicorn", "gongshu.wsgi:application", "--config", "python:gongshu.gunicorn_conf", "--bind", f"{host}:{port}",
        "--workers", str(workers), "--access-logfile", "-", "--graceful-timeout", "5",
    ])
    children.append(web)
    click.echo(f"公数 Gongshu serving on http://{host}:{port}/  (Ctrl-C to stop)")

    def stop(*_):
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        web.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            child.wait(timeout=10)


@main.command()
@click.option("--once", is_flag=True, help="run every scheduled job and what is queued once, then exit")
def worker(once):
    """Run queued jobs (web uploads) as they come, and the scheduled jobs (overdue cases, extractions,
    stale data, usage-log retention…) when due, every GONGSHU_WORKER_INTERVAL s; each run is a job record
    (`gongshu jobs`), a failed one is retried with back-off."""
    _django()
    from django.conf import settings
    from django.db import close_old_connections

    from gongshu import jobs

    me = jobs.worker_id()
    for record in jobs.recover_interrupted():
        click.echo(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {jobs.report(record)}")
    while True:
        jobs.enqueue_due(force=once)
        for record in jobs.run_each_ready(me):
            line = jobs.report(record)
            if line:
                click.echo(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} {line}")
        if once:
            return
        time.sleep(settings.GONGSHU_WORKER_POLL_SECONDS)
        close_old_connections()  # as after a request: a connection the database dropped is opened again


@main.command()
@click.option("--limit", default=30, show_default=True, type=click.IntRange(min=1))
@click.option("--state", type=click.Choice(["READY", "RUNNING", "SUCCESSFUL", "FAILED"]), default=None)
@click.option("--name", default=None, help="one job, e.g. run_upload")
def jobs(limit, state, name):
    """Recent job records, newest first: when queued, job, state, attempts, progress, summary or last error."""
    _django()
    from gongshu import jobs as background

    for line in background.lines(background.row(r) for r in background.records(state=state, name=name)[:limit]):
        click.echo(line)


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def manage(ctx):
    """Run a Django management command (e.g. `gongshu manage createsuperuser`)."""
    _django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["gongshu manage"] + ctx.args)


# --- demo city -------------------------------------------------------------------------------


@main.group()
def demo():
    """The demo city."""


@demo.command("load")
def demo_load():
    """Build the demo city (idempotent): regions, bodies, users per role, the statutory resources."""
    _django()
    from gongshu.demo import load

    summary = load(echo=click.echo)
    click.echo("")
    click.echo(summary)


@demo.command("otp")
@click.argument("username")
def demo_otp(username):
    """Print the current TOTP code of a demo administrator (demo devices only)."""
    _django()
    from gongshu.demo import current_demo_otp

    code = current_demo_otp(username)
    if code is None:
        raise click.ClickException(f"{username} has no demo TOTP device")
    click.echo(code)


# --- rules, identifiers, working days --------------------------------------------------------


@main.command()
def rules():
    """List the rulebook: its regulation's issuer, dates and validity today (CFG1), then each rule's key,
    value, citation and origin (法规规定 / 平台默认)."""
    _django()
    from foundation import rulebook

    book = rulebook.current()
    click.echo(f"# {book.title} ({book.name})")
    dates = "  ".join(f"{label} {day}" for label, day in (("印发", book.issued), ("施行", book.effective), ("有效期至", book.expires)) if day)
    if book.issuer or dates:
        click.echo(f"# {book.issuer}  {dates}".rstrip())
    state = rulebook.validity()
    click.echo(f"# {'警告：' if state.warning else ''}{state.message}")
    for rule in book.rules.values():
        value = ",".join(map(str, rule.value)) if isinstance(rule.value, (list, tuple)) else rule.value
        click.echo(f"{rule.key}\t{value} {rule.unit}\t{rule.article}\t{rule.origin_label}")
    for source in book.sources.values():
        click.echo(f"sources.{source.key}\t{','.join(source.sectors)}\t{source.article}")


@main.group()
def check():
    """Check identifiers: prints `valid` or `invalid: <reason>` (exit 0 or 1)."""


def _report(problem: str | None):
    if problem:
        click.echo(f"invalid: {problem}")
        sys.exit(1)
    click.echo("valid")


@check.command("uscc")
@click.argument("code")
def check_uscc(code):
    """A Unified Social Credit Code (GB 32100)."""
    from foundation.identifiers import uscc_problem

    _report(uscc_problem(code))


@check.command("citizen-id")
@click.argument("number")
def check_citizen_id(number):
    """A citizen ID number (GB 11643), check digit and date of birth."""
    from foundation.identifiers import citizen_id_problem

    _report(citizen_id_problem(number))


@main.group()
def workdays():
    """Working days: statutory holidays and make-up workdays respected."""


@workdays.command("add")
@click.argument("start", callback=_date)
@click.argument("n", type=click.IntRange(min=0))
def workdays_add(start, n):
    """Print the date of the N-th working day after START (START not counted)."""
    _django()
    from core.workdays import add_workdays

    click.echo(add_workdays(start, n).isoformat())


@workdays.command("set")
@click.argument("day", callback=_date)
@click.option("--workday/--holiday", required=True, help="a make-up workday or a holiday")
@click.option("--name", default="", help="e.g. 春节")
def workdays_set(day, workday, name):
    """Record a holiday or make-up workday for a year the calendar package does not know."""
    _django()
    from foundation.actor import system_actor
    from core.services import set_calendar_day

    set_calendar_day(system_actor("cli"), date=day, is_workday=workday, name=name)
    click.echo(f"{day.isoformat()} {'workday' if workday else 'holiday'} {name}".rstrip())


@workdays.command("seed")
def workdays_seed():
    """Reload the holidays the chinese-calendar package knows (bureau entries are kept)."""
    _django()
    from core.workdays import package_years, seed_from_package

    count = seed_from_package()
    years = package_years()
    click.echo(f"{count} days loaded for {years[0]}–{years[-1]}")


# --- audit -----------------------------------------------------------------------------------


@main.group()
def audit():
    """The tamper-evident audit chain."""


@audit.command("verify")
def audit_verify():
    """Recompute the chain and compare it with the latest signed checkpoint; exit 1 naming the first bad
    event, or a missing, forged or stale checkpoint."""
    _django()
    from audit.services import verify

    result = verify()
    if not result.ok:
        where = f"BROKEN at event #{result.first_bad_seq}" if result.first_bad_seq is not None else "FAILED"
        click.echo(f"{where}: {result.reason}")
        sys.exit(1)
    cp = result.checkpoint
    click.echo(f"ok: {result.count} events verified in {result.seconds:.2f}s ({result.rate:,.0f}/s); "
               f"signed checkpoint #{cp['seq']} of {cp['at']} (key {cp['key_id']}) matches; "
               f"{result.since_checkpoint} event(s) since it, not yet anchored")


@audit.command("checkpoint")
@click.option("--new-chain", is_flag=True,
              help="sign a chain that shares nothing with the latest checkpoint (a new installation beside old keys)")
def audit_checkpoint(new_chain):
    """Sign the chain's head and publish it outside the data directory (the worker does this every
    audit.checkpoint_minutes); refused if the chain no longer matches the latest checkpoint."""
    _django()
    from audit.services import checkpoint
    from foundation.actor import system_actor
    from foundation.errors import GongshuError

    try:
        written = checkpoint(system_actor("cli"), new_chain=new_chain)
    except GongshuError as exc:
        click.echo(f"REFUSED: {exc.message}", err=True)
        sys.exit(1)
    cp = written.summary()
    click.echo(f"checkpoint #{cp['seq']} {cp['hash']} {cp['at']} key {cp['key_id']} -> {cp['path']}")


@audit.command("prove")
@click.argument("event", type=int)
@click.option("--hash", "expected", default=None, help="the hash on the receipt, to compare")
def audit_prove(event, expected):
    """Show that EVENT (a receipt's event number) is in the chain and links on to the head."""
    _django()
    from audit.services import prove
    from foundation.actor import system_actor
    from foundation.errors import GongshuError

    try:
        proof = prove(event, expected, disclose=lambda _event: True)  # the operator on the machine
    except GongshuError as exc:
        click.echo(f"NOT PROVEN: {exc.message}")
        sys.exit(1)
    click.echo(f"event #{proof.seq} {proof.hash} (after {proof.prev_hash})")
    for key, value in (proof.event or {}).items():
        click.echo(f"  {key}: {value}")
    click.echo(f"head #{proof.head_seq} {proof.head_hash}")
    if proof.anchored:
        click.echo(f"anchored by signed checkpoint #{proof.checkpoint['seq']} ({proof.checkpoint['at']}, key {proof.checkpoint['key_id']})")
    elif proof.checkpoint:
        click.echo(f"after the latest signed checkpoint #{proof.checkpoint['seq']} ({proof.checkpoint['at']}): not yet anchored")
    if not proof.ok:
        click.echo(f"NOT PROVEN: {proof.reason}")
        sys.exit(1)
    click.echo(f"proven: event #{proof.seq} recomputes and {proof.head_seq - proof.seq} later event(s) link it to the head")


# --- federation (S9) ---------------------------------------------------------------------------


@main.group()
def federation():
    """Federation with other Gongshu instances (city and province)."""


@federation.command("key")
def federation_key():
    """Print this instance's public key (the peers register it)."""
    _django()
    from sharing.federation import public_key

    click.echo(public_key())


@federation.command("add-peer")
@click.argument("name")
@click.argument("url")
@click.argument("public_key")
@click.option("--level", type=click.Choice(["upper", "lower"]), required=True)
@click.option("--organisation", default=None, help="for a lower instance: the organisation it acts as here (name)")
def federation_add_peer(name, url, public_key, level, organisation):
    """Register the instance NAME at URL with its PUBLIC_KEY."""
    _django()
    from foundation.actor import system_actor
    from foundation.errors import GongshuError
    from core.models import Organisation
    from sharing.federation import add_peer

    org = Organisation.objects.filter(name=organisation).first() if organisation else None
    if organisation and org is None:
        raise click.ClickException(f"no organisation named {organisation}")
    try:
        peer = add_peer(system_actor("cli"), name=name, url=url, public_key=public_key, level=level, organisation=org)
    except GongshuError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"peer {peer.name} ({peer.get_level_display()}) at {peer.url}")


# --- cases -----------------------------------------------------------------------------------


@main.group()
def cases():
    """Workflow cases."""


@cases.command("overdue")
@click.option("--raise", "raise_", is_flag=True, help="also raise them to the bureau (as the scheduler does)")
def cases_overdue(raise_):
    """List open cases past their deadline: the day of a working-day deadline, the minute of an hour one."""
    _django()
    from django.utils import timezone

    from workflow.selectors import overdue
    from workflow.services import raise_overdue_cases

    rows = list(overdue())
    for case in rows:
        due = (f"{timezone.localtime(case.due_at, timezone.get_default_timezone()):%Y-%m-%d %H:%M}"
               if case.due_at is not None else f"{case.due_on}")
        click.echo(f"{case.number}\t{due}\t{case.state}\t{case.assignee or '-'}\t{case.deadline_rule}\t{case.title}")
    if not rows:
        click.echo("no overdue cases")
    if raise_:
        from foundation.actor import system_actor

        raised = raise_overdue_cases(system_actor("cli"))
        click.echo(f"raised {len(raised)} to the bureau")


# --- catalog ---------------------------------------------------------------------------------


@main.group()
def catalog():
    """The city master catalog."""


@catalog.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonld", "csv", "xlsx"]), default="jsonld", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="file to write (default: standard output)")
@click.option("--base", default="http://127.0.0.1:8000", show_default=True, help="base URL for the identifiers")
def catalog_export(fmt, output, base):
    """Export the published catalog: DCAT-AP 3 JSON-LD, or CSV/XLSX with Chinese headers."""
    _django()
    import json

    from catalog import exports, selectors
    from foundation.actor import system_actor

    rows = exports.published(selectors.restrict(system_actor("cli")))
    if fmt == "jsonld":
        data = json.dumps(exports.dcat_catalog(rows, base=base, title="公共数据资源目录"), ensure_ascii=False, indent=1).encode()
    elif fmt == "csv":
        data = exports.csv_bytes(exports.table(rows))
    else:
        data = exports.xlsx_bytes(exports.table(rows))
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
        click.echo(f"{len(data):,} bytes -> {output}", err=True)
    else:
        click.get_binary_stream("stdout").write(data)


@catalog.command("discover")
@click.argument("sample", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", default=None, help="utf-8, gbk or gb18030 (detected when omitted)")
def catalog_discover(sample, encoding):
    """Scan a CSV SAMPLE and print its sensitive columns with suggested category and grade (nothing is stored)."""
    _django()
    from foundation import rulebook
    from foundation.errors import GongshuError
    from foundation.textfiles import read_csv_sample
    from grading.discovery import discover

    try:
        with open(sample, "rb") as fh:
            columns, rows = read_csv_sample(fh.read(), limit=int(rulebook.value("grading.discovery.sample_rows")), encoding=encoding)
    except GongshuError as exc:
        raise click.ClickException(exc.message) from None
    findings = discover(columns, rows)
    for f in findings:
        click.echo(f"{f.column}\t{f.sensitivity}\t{f.share:.0%} ({f.matched}/{f.non_empty})\t{f.category}\t{f.grade}")
    if not findings:
        click.echo("no sensitive columns found")


@catalog.command("reindex")
def catalog_reindex():
    """Rebuild the Chinese search index of every entry."""
    _django()
    from catalog import search
    from catalog.models import Resource

    ids = list(Resource.objects.values_list("pk", flat=True))
    with click.progressbar(range(0, len(ids), 500), label="indexing") as bar:
        rows = sum(search.index_many(Resource.objects.filter(pk__in=ids[i : i + 500])) for i in bar)
    click.echo(f"{len(ids)} entries, {rows} index terms")


# --- data (warehouse) ----------------------------------------------------------------------


@main.group()
def data():
    """Aggregated data: ingest, snapshots, the policy-checked query path."""


def _resource(code_or_name):
    from catalog.models import Resource

    found = Resource.objects.filter(code=code_or_name).first() or Resource.objects.filter(name=code_or_name).first()
    if found is None:
        raise click.ClickException(f"no catalog entry {code_or_name}")
    return found


@data.command("ingest")
@click.argument("resource")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", default=None, help="utf-8, gbk or gb18030 (detected when omitted)")
@click.option("--mode", type=click.Choice(["full", "delta"]), default="full", show_default=True)
def data_ingest(resource, file, encoding, mode):
    """Check FILE against RESOURCE (code or name) and publish it as a snapshot, or refuse it whole."""
    _django()
    from pathlib import Path

    from foundation.actor import system_actor
    from foundation.errors import GongshuError
    from warehouse.models import Batch
    from warehouse.services import ingest_file

    target = _resource(resource)
    stages = Batch.STAGES
    with click.progressbar(length=len(stages), label=f"{target.name}", show_eta=False,
                           item_show_func=lambda s: s or "") as bar:
        def progress(stage):
            bar.update(1, stage)

        try:
            batch = ingest_file(system_actor("cli"), target, Path(file), encoding=encoding, mode=mode, progress=progress)
        except GongshuError as exc:
            raise click.ClickException(exc.message) from None
        bar.update(len(stages))
    click.echo(f"batch {batch.pk} {batch.status}: received {batch.rows_received}, accepted {batch.rows_accepted}, "
               f"refused {batch.rows_refused}")
    if batch.message:
        click.echo(batch.message)
    if batch.status != "published":
        sys.exit(1)


@data.command("snapshots")
@click.argument("resource")
def data_snapshots(resource):
    """List the snapshots of RESOURCE."""
    _django()
    for s in _resource(resource).snapshots.order_by("version"):
        click.echo(f"v{s.version}\t{s.row_count}\t{s.created_at:%Y-%m-%d %H:%M:%S}\t{s.sha256[:12]}\t{s.path}")


@data.command("query")
@click.argument("resource")
@click.option("--sql", default=None, help="a SELECT over the table `data`")
@click.option("--key", "keys", multiple=True, help="COLUMN=VALUE lookup on a key item")
@click.option("--purpose", required=True, help="the scenario this use serves (logged)")
@click.option("--as-of", "as_of", type=int, default=None, help="snapshot version")
@click.option("--limit", type=int, default=20, show_default=True)
def data_query(resource, sql, keys, purpose, as_of, limit):
    """Read RESOURCE through the policy-checked query path (as the platform operator)."""
    _django()
    import json

    from foundation.actor import system_actor
    from foundation.errors import GongshuError
    from warehouse import query

    target = _resource(resource)
    actor = system_actor("cli")
    filters = dict(k.split("=", 1) for k in keys)
    try:
        result = query.run(actor, target, scope=query.scope_for(actor, target, purpose=purpose), sql=sql,
                           filters=filters, as_of=as_of, limit=limit)
    except GongshuError as exc:
        raise click.ClickException(exc.message) from None
    for record in result.records:
        click.echo(json.dumps(record, ensure_ascii=False, default=str))
    click.echo(f"-- {len(result.rows)} rows from snapshot v{result.snapshot.version}; receipt #{result.audit_seq} {result.audit_hash}", err=True)


@data.command("build-base")
@click.argument("base", type=click.Choice(["population", "legal_entity"]))
def data_build_base(base):
    """Consolidate a base database (A5) from the statutory sources into a new snapshot."""
    _django()
    from foundation.actor import system_actor
    from foundation.errors import GongshuError
    from warehouse.bases import build

    try:
        batch = build(system_actor("cli"), base)
    except GongshuError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{batch.resource.name}: {batch.status}, {batch.rows_accepted} rows; {batch.message}")
    if batch.status != "published":
        sys.exit(1)


@data.command("gc")
def data_gc():
    """Remove snapshot files no committed snapshot refers to (left by a crash)."""
    _django()
    from foundation.actor import system_actor
    from warehouse.services import collect_garbage

    removed = collect_garbage(system_actor("cli"))
    click.echo(f"removed {len(removed)} unreferenced snapshot director{'y' if len(removed) == 1 else 'ies'}")


# --- front-end machine (the agency side) ----------------------------------------------------


@main.group()
def frontend():
    """An agency's front-end machine (前置机): its key pair."""


@frontend.command("keygen")
@click.argument("keyfile", type=click.Path(dir_okay=False))
def frontend_keygen(keyfile):
    """Write a new private key to KEYFILE and print the public key to register with the platform."""
    from pathlib import Path

    from warehouse.frontend import keygen

    if Path(keyfile).exists():
        raise click.ClickException(f"{keyfile} exists")
    click.echo(keygen(Path(keyfile)))


@main.command()
@click.argument("resource")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--url", required=True, help="the platform, e.g. https://data.city.gov.cn")
@click.option("--machine", type=int, required=True, help="the front-end machine's id at the platform")
@click.option("--key", "key_path", type=click.Path(exists=True, dir_okay=False), required=True, help="private key file")
@click.option("--mode", type=click.Choice(["full", "delta"]), default="full", show_default=True)
@click.option("--encoding", default=None)
def push(resource, file, url, machine, key_path, mode, encoding):
    """Push FILE for RESOURCE (catalog code) from a front-end machine, signed with its key."""
    import json
    from pathlib import Path

    from warehouse.frontend import push as do_push

    status, answer = do_push(url, machine=machine, key_path=Path(key_path), resource=resource, file=Path(file),
                             mode=mode, encoding=encoding)
    click.echo(json.dumps(answer, ensure_ascii=False))
    if status != 201:
        sys.exit(1)


# --- backups -------------------------------------------------------------------------------


@main.command()
@click.argument("dest", type=click.Path(file_okay=False))
def backup(dest):
    """Back up metadata and data to DEST (a new directory), with a checksum manifest."""
    _django()
    from pathlib import Path

    from gongshu.backup import BackupError, create

    try:
        create(Path(dest), echo=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--verify-only", is_flag=True, help="only check the backup's checksums")
def restore(src, verify_only):
    """Restore a backup into a fresh, migrated installation (verified before and after)."""
    _django()
    from pathlib import Path

    from gongshu.backup import BackupError, verify
    from gongshu.backup import restore as do_restore

    try:
        if verify_only:
            manifest = verify(Path(src))
            click.echo(f"ok: {len(manifest['files'])} files verified")
            return
        do_restore(Path(src), echo=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


# --- accounts --------------------------------------------------------------------------------


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--organisation", "organisation_id", type=int, help="organisation id (if the user has several)")
@click.option("--scope", "scopes", multiple=True, default=["read"], type=click.Choice(["read", "write"]))
@click.option("--days", type=int, default=None)
@click.option("--name", default="cli")
def token_create(username, organisation_id, scopes, days, name):
    """Issue a token for USERNAME; it is printed once and stored only as a hash."""
    _django()
    from core.actor import act_as
    from foundation.errors import GongshuError
    from core.models import User
    from core.services import issue_token

    user = User.objects.filter(username=username).first()
    if user is None:
        raise click.ClickException(f"no user {username}")
    try:
        _, plain = issue_token(act_as(user, organisation_id, channel="cli"), name=name, scopes=list(scopes), days=days)
    except GongshuError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(plain)


if __name__ == "__main__":
    main()
