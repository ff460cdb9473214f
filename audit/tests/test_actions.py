"""SEC1: the audit vocabulary. Every action an event records is declared by its app with a Chinese label;
``record`` (and so every refusal, and the read path's event) refuses any other name before it writes; the
audit's readers show the label; and a service function that writes without auditing fails this module."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.apps import apps
from django.db import transaction

from audit import actions
from audit.actions import UndeclaredAction
from audit.models import ChainHead, Event
from audit.services import SERVICE_ACTIONS, checkpoint, prove, record, record_refusal, service
from foundation.actor import system_actor
from foundation.errors import Conflict

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _head() -> tuple[int, str, int]:
    head = ChainHead.objects.get(pk=1)
    return head.seq, head.hash, Event.objects.count()


# --- record accepts only declared actions --------------------------------------------------------


@pytest.mark.django_db
def test_record_refuses_an_undeclared_action_and_writes_nothing_SEC1():
    """A name typed only at the call site is a programming error: raised before the chain is touched."""
    before = _head()
    with pytest.raises(UndeclaredAction, match="catalog.submit_entry"):
        record(system_actor(), "catalog.submit_entry", ("test.object", "1"), after={"x": 1})
    assert _head() == before
    assert isinstance(UndeclaredAction("x"), ValueError)  # not a GongshuError: no API maps it to a user's refusal


@pytest.mark.django_db
def test_a_refusal_under_an_undeclared_action_writes_nothing_SEC1():
    before = _head()
    error = Conflict("测试", code="test")
    with pytest.raises(UndeclaredAction):
        record_refusal(system_actor(), "sharing.remote_cal", error)
    assert _head() == before and not error.audited


@service
def _undeclared_service(actor, pk: int):
    from core.models import Region

    Region.objects.filter(pk=pk).update(name="改名")  # rolled back with the refusal
    raise Conflict("测试拒绝", code="test")


SERVICE_ACTIONS.discard(_undeclared_service.action)  # a probe: not one of the platform's services


@pytest.mark.django_db
def test_a_service_whose_action_is_undeclared_fails_loudly_and_leaves_nothing_SEC1():
    """@service audits a refusal as <app>.<function>: undeclared, it raises instead of writing half."""
    from core.models import Region

    region = Region.objects.order_by("pk").first()
    before = _head()
    with pytest.raises(UndeclaredAction, match="audit._undeclared_service"):
        with transaction.atomic():
            _undeclared_service(system_actor(), region.pk)
    assert _head() == before and Region.objects.get(pk=region.pk).name == region.name


@pytest.mark.django_db
def test_the_read_path_records_its_declared_action():
    """The per-call hot path (warehouse.query) is declared; its events show the label."""
    from warehouse import usage

    assert actions.label(usage.ACTION) == "查询数据"
    event = Event.objects.filter(action=usage.ACTION).order_by("-seq").first()  # the demo's lookups
    assert event is not None and event.action_label == "查询数据"


def test_require_is_one_dictionary_lookup_for_a_declared_action(monkeypatch):
    """The hot path stays fast: a declared name never asks the families again."""
    actions.require("warehouse.query")
    monkeypatch.setattr(actions, "_expand", lambda: pytest.fail("a declared action was looked up again"))
    for _ in range(1000):
        actions.require("warehouse.query")


# --- the vocabulary ------------------------------------------------------------------------------


def test_every_declared_action_has_a_chinese_label_SEC1():
    declared = actions.declared()
    assert len(declared) > 60
    for action, text in declared.items():
        assert actions.NAME.match(action), action
        assert text.strip() and CJK.search(text) and text != action, (action, text)
        assert actions.label(action) == text


def test_every_app_declares_its_actions_in_its_actions_module():
    """One place per app: <app>/actions.py, imported when the app is ready (so before any request)."""
    import sys

    for config in _our_apps():
        if Path(config.path).resolve().parent != ROOT:
            continue  # an app inside the project package (gongshu.jobrecords) declares in gongshu/actions.py
        assert (Path(config.path) / "actions.py").exists(), f"{config.name} has no actions.py"
        assert f"{config.name}.actions" in sys.modules, f"{config.name}.actions is not imported by its AppConfig.ready()"


def test_every_case_step_is_declared_by_the_engine_family():
    from workflow import engine

    case_types = engine.case_types()
    assert case_types
    for case_type in case_types:
        assert actions.label(f"workflow.{case_type.name}.open") == f"{case_type.label}：发起"
        for t in case_type.transitions:
            assert actions.label(f"workflow.{case_type.name}.{t.name}") == f"{case_type.label}：{t.label}"
    assert not actions.is_declared("workflow.no_such_case_type.approve")


def test_a_case_type_registered_later_is_declared_when_first_recorded():
    from workflow import engine

    ctype = engine.CaseType(name="vocabulary_probe", label="词表探针", prefix="VP", transitions=[
        engine.Transition("close", "办结", ("opened",), "closed", frozenset(), "applicant")],
        states=[engine.State("opened", "已受理"), engine.State("closed", "已办结", final=True)])
    assert not actions.is_declared("workflow.vocabulary_probe.close")
    engine.register(ctype)
    try:
        assert actions.label("workflow.vocabulary_probe.close") == "词表探针：办结"
    finally:
        engine._REGISTRY.pop("vocabulary_probe", None)


@pytest.mark.parametrize("labels,message", [
    ({"catalog.submit_resource": "Submit"}, "Chinese label"),
    ({"catalog.submit_resource": ""}, "Chinese label"),
    ({"catalog.submit_resource": "另一个名称"}, "already declared"),
    ({"Catalog Submit": "提交"}, "dotted lower-case"),
    ({"submit": "提交"}, "dotted lower-case"),
])
def test_declare_refuses_a_bad_declaration(labels, message):
    with pytest.raises(ValueError, match=message):
        actions.declare(labels)
    assert actions.label("catalog.submit_resource") == "提交目录审核"


def test_a_retired_name_is_shown_as_it_was_recorded():
    assert actions.label("catalog.retired_long_ago") == "catalog.retired_long_ago"


def test_the_settings_check_finds_no_undeclared_service():
    from audit.checks import service_actions_declared

    assert service_actions_declared() == []
    assert {"catalog.submit_resource", "sharing.request_share", "audit.checkpoint"} <= SERVICE_ACTIONS


def test_the_settings_check_names_an_undeclared_service(monkeypatch):
    from audit.checks import service_actions_declared

    monkeypatch.setattr("audit.services.SERVICE_ACTIONS", SERVICE_ACTIONS | {"catalog.forgotten"})
    assert [m.id for m in service_actions_declared()] == ["audit.E002"]


# --- every name used in the code is declared ----------------------------------------------------

RECORDERS = {"record", "record_refusal", "refuse_unauthenticated", "_tally"}  # their first string argument is an action
PERMISSION_CALLS = re.compile(r"restrict|require|can|permit|allowed")  # `action=` there names a permission


def _our_apps():
    """The project's apps (not the libraries' in .venv), gongshu's own sub-apps among them."""
    return [c for c in apps.get_app_configs()
            if ROOT in Path(c.path).resolve().parents and ".venv" not in Path(c.path).relative_to(ROOT).parts]


def _sources():
    for config in _our_apps():
        for path in sorted(Path(config.path).rglob("*.py")):
            if not {"tests", "migrations"} & set(path.relative_to(ROOT).parts):
                yield path
    yield from sorted((ROOT / "gongshu").glob("*.py"))


def _named_actions(path: Path) -> list[tuple[str, int]]:
    """Action names written as literals: the first string argument of a recorder, an ``action=`` keyword
    (e.g. the access path's kinds), and each @service's <app>.<function>."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    app = path.relative_to(ROOT).parts[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(_is_service(d) for d in node.decorator_list):
            found.append((f"{app}.{node.name}", node.lineno))
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in RECORDERS:
            literal = next((a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)), None)
            if literal is not None:
                found.append((literal, node.lineno))
        if name and not PERMISSION_CALLS.search(name):
            for keyword in node.keywords:
                if keyword.arg == "action" and isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    found.append((keyword.value.value, node.lineno))
    return found


def test_every_action_named_in_the_code_is_declared_SEC1():
    """Static: a literal action or a @service the tests never make refuse still cannot slip through."""
    importlib.import_module("gongshu.api")  # the API assembly declares what it records (gongshu.actions)
    missing = [f"{path.relative_to(ROOT)}:{line} {action}" for path in _sources()
               for action, line in _named_actions(path) if not actions.is_declared(action)]
    assert not missing, "undeclared audit actions (declare them in the app's actions.py):\n" + "\n".join(missing)


# --- a service that writes must audit (SEC1: every write is on the chain) ------------------------

WRITE_METHODS = {"save", "create", "delete", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}
WRITE_SQL = re.compile(r"\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
AUDIT = {"audit.services.record", "audit.services.record_refusal"}

# Functions that write without an event of their own, each with the reason it is not a gap. Private helpers
# (a leading underscore) are not listed: their writes count for the public functions that call them.
ALLOWED = {
    # a notification is the message of an audited act, written inside that act's transaction (its docstring)
    "core.services.notify": "told inside the audited act that causes it",
    # replay protection of a signed request: the nonce and last-seen time are bookkeeping of the request;
    # the pushed batch is audited (warehouse.open_batch) and a refusal is tallied per address and minute
    "warehouse.services.authenticate_push": "replay-protection bookkeeping; refusals tallied (core.auth)",
    # the local mirror of a forwarded request's state at the upper instance, which audits the decision itself
    "sharing.federation.refresh": "a cache of the upper instance's audited state",
}


def _is_service(decorator) -> bool:
    return (isinstance(decorator, ast.Name) and decorator.id == "service") or (
        isinstance(decorator, ast.Attribute) and decorator.attr == "service")


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


class _Function:
    def __init__(self, name: str, node: ast.FunctionDef):
        self.name, self.node = name, node
        self.writes: list[int] = []
        self.audits = any(_is_service(d) for d in node.decorator_list)
        self.calls: set[str] = set()


class ServiceScan:
    """Top-level functions of service modules: which write (an ORM write, a many-to-many ``set``, a queryset
    ``update``, an INSERT/UPDATE/DELETE statement, or a call of a function that writes) and which audit
    (@service, ``record``/``record_refusal``, or a call of a function that audits), closed over calls
    between the scanned modules."""

    def __init__(self):
        self.functions: dict[str, _Function] = {}

    def add(self, module: str, source: str) -> None:
        tree = ast.parse(source)
        constants = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                     if isinstance(t, ast.Name)}
        names, modules = self._imports(module, tree.body)
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        names.update({d.name: f"{module}.{d.name}" for d in defs})
        for node in defs:
            fn = _Function(f"{module}.{node.name}", node)
            local_names, local_modules = dict(names), dict(modules)
            inner = self._imports(module, [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))])
            local_names.update(inner[0])
            local_modules.update(inner[1])
            for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                if self._writes(call, constants):
                    fn.writes.append(call.lineno)
                target = self._resolve(call, local_names, local_modules)
                if target:
                    fn.calls.add(target)
            self.functions[fn.name] = fn

    @staticmethod
    def _imports(module: str, nodes) -> tuple[dict[str, str], dict[str, str]]:
        names, modules = {}, {}
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = module.split(".")[:-node.level]
                    base = ".".join(parts + ([node.module] if node.module else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}" if base else alias.name
                    # `from . import services` names a module; `from .services import x` a function
                    (modules if _is_module(full) else names)[alias.asname or alias.name] = full
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    modules[alias.asname or alias.name] = alias.name
        return names, modules

    @staticmethod
    def _resolve(call: ast.Call, names: dict, modules: dict) -> str | None:
        f = call.func
        if isinstance(f, ast.Name):
            return names.get(f.id)
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in modules:
            return f"{modules[f.value.id]}.{f.attr}"
        return None

    @staticmethod
    def _strings(node, constants, depth=0) -> list[str]:
        if depth > 3:
            return []
        if isinstance(node, ast.Name) and node.id in constants:
            return ServiceScan._strings(constants[node.id], constants, depth + 1)
        found = []
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                found.append(child.value)
            elif isinstance(child, ast.Name) and child is not node and child.id in constants:
                found += ServiceScan._strings(constants[child.id], constants, depth + 1)
        return found

    def _writes(self, call: ast.Call, constants) -> bool:
        f = call.func
        if not isinstance(f, ast.Attribute):
            return False
        if f.attr in WRITE_METHODS:
            return True
        if f.attr == "set":  # a many-to-many relation (`project.resources.set(...)`), not a context variable
            return isinstance(f.value, ast.Attribute)
        if f.attr == "update":  # a queryset's, not a dict's: on a query, or keywords only
            receiver = f.value
            return (isinstance(receiver, ast.Call) or (isinstance(receiver, ast.Attribute) and receiver.attr == "objects")
                    or (not call.args and bool(call.keywords)))
        if f.attr in ("execute", "executemany") and call.args:
            return any(WRITE_SQL.match(s) for s in self._strings(call.args[0], constants))
        return False

    def unaudited(self, exempt: set[str] = frozenset()) -> dict[str, list[int]]:
        """Public functions that write and do not audit, with the lines of their own writes."""
        fns = self.functions
        writes = {n for n, f in fns.items() if f.writes}
        audited = {n for n, f in fns.items() if f.audits or f.calls & AUDIT} | AUDIT | set(exempt)
        changed = True
        while changed:
            changed = False
            for name, fn in fns.items():
                if name not in writes and fn.calls & writes:
                    writes.add(name)
                    changed = True
                if name not in audited and fn.calls & audited:
                    audited.add(name)
                    changed = True
        return {n: fns[n].writes for n in sorted(writes - audited)
                if not n.rsplit(".", 1)[1].startswith("_") and n in fns}


def _is_module(full: str) -> bool:
    try:
        return importlib.util.find_spec(full) is not None
    except (ImportError, ValueError):
        return False


def _service_modules() -> list[tuple[str, Path]]:
    """Each app's services.py, its services package, and any other module of it that defines a @service."""
    found = []
    for config in _our_apps():
        folder = Path(config.path)
        paths = [folder / "services.py"] + sorted((folder / "services").glob("*.py"))
        paths += [p for p in sorted(folder.glob("*.py")) if p not in paths and _defines_a_service(p)]
        for path in paths:
            if path.exists():
                found.append((".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"), path))
    return found


def _defines_a_service(path: Path) -> bool:
    return any(isinstance(n, ast.FunctionDef) and any(_is_service(d) for d in n.decorator_list)
               for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def _case_hooks() -> set[str]:
    """Functions the case engine calls on entering a state: they run inside a case step, whose event
    (``workflow.<case type>.<transition>``) the engine records before the hook."""
    from workflow import engine

    hooks = set()
    for case_type in engine.case_types():
        on_enter = getattr(case_type, "on_enter", None) or {}
        for state in case_type.states:
            candidates = [on_enter.get(state.name)] if hasattr(on_enter, "get") else []
            candidates += [getattr(state, attr, None) for attr in ("on_enter", "hook")]
            for hook in candidates:
                if isinstance(hook, str):
                    module, _, attr = hook.replace(":", ".").rpartition(".")
                    hook = getattr(importlib.import_module(module), attr)
                if callable(hook):
                    hooks.add(f"{hook.__module__}.{hook.__qualname__}")
    return hooks


def _scan() -> ServiceScan:
    scan = ServiceScan()
    for module, path in _service_modules():
        scan.add(module, path.read_text(encoding="utf-8"))
    return scan


def test_every_service_that_writes_audits_SEC1():
    """A new service function that saves, creates, updates or deletes (or calls one that does) without
    recording an event, being a @service or calling one, fails here — or is listed above with its reason."""
    scan = _scan()
    assert {"catalog.services", "core.services", "sharing.services", "warehouse.services", "workflow.services",
            "audit.services", "sharing.federation"} <= {m for m, _ in _service_modules()}
    gaps = {name: lines for name, lines in scan.unaudited(_case_hooks()).items() if name not in ALLOWED}
    assert not gaps, "service functions that write without auditing (record the act, or list it in ALLOWED with why):\n" + \
        "\n".join(f"{name} (writes at lines {lines or 'via the functions it calls'})" for name, lines in gaps.items())


def test_the_allowlist_names_only_real_unaudited_writers():
    """An entry whose function is gone or now audits is removed, so the list stays the true exceptions."""
    unaudited = _scan().unaudited(_case_hooks())
    assert not [name for name in ALLOWED if name not in unaudited]


PROBE = '''
from audit.services import record, service
from core.services import notify
from .models import Thing


def _helper(thing):
    thing.save()


def make(actor):
    Thing.objects.create(name="x")


def make_via_helper(actor, thing):
    _helper(thing)


def set_flag(actor, pk):
    Thing.objects.filter(pk=pk).update(flag=True)


def rename(actor, thing):
    thing.name = "y"
    thing.save()
    record(actor, "probe.rename", thing)


@service
def remove(actor, thing):
    thing.delete()


def remove_twice(actor, thing):
    remove(actor, thing)


def tell(actor, thing):
    notify(organisation=thing.owner, kind="x", message="y")


def raw_write(cursor):
    cursor.execute(SQL, [1])


SQL = "UPDATE probe_thing SET flag = 1 WHERE id = %s"


def merge_summary(summary, detail):
    summary.update(detail)
    return summary
'''


def test_the_scan_flags_each_kind_of_unaudited_write():
    """The check is real: a new unaudited writing service in any of these shapes is caught."""
    scan = ServiceScan()
    scan.add("probe.services", PROBE)
    scan.add("core.services", "from .models import Notification\n\n\ndef notify(**kwargs):\n    Notification.objects.create(**kwargs)\n")
    assert set(scan.unaudited()) == {"probe.services.make", "probe.services.make_via_helper", "probe.services.set_flag",
                                     "probe.services.tell", "probe.services.raw_write", "core.services.notify"}
    assert set(scan.unaudited({"core.services.notify"})) == {"probe.services.make", "probe.services.make_via_helper",
                                                             "probe.services.set_flag", "probe.services.raw_write"}


# --- the audit's readers show the label (proofs on the API and the CLI) ---------------------------


@pytest.mark.django_db
def test_a_proof_shows_the_action_with_its_label(city, client):
    """SEC1: the proof behind a receipt says what happened in words, beside the recorded name."""
    from catalog.services import draft_resource
    from core.services import issue_token
    from gongshu.cli import main

    draft_resource(city.actor("officer"), fields={"name": "词表资源"}, items=[])
    event = Event.objects.order_by("-seq").first()
    checkpoint(system_actor("cli"))
    assert prove(event.seq, disclose=lambda e: True).event["action_label"] == "起草目录"
    _, token = issue_token(city.actor("bureau"), name="proof", scopes=["read"])
    body = client.get(f"/api/v1/audit/events/{event.seq}/proof", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert (body["event"]["action"], body["event"]["action_label"]) == ("catalog.draft_resource", "起草目录")
    output = CliRunner().invoke(main, ["audit", "prove", str(event.seq)]).output
    assert "action: catalog.draft_resource" in output and "action_label: 起草目录" in output
    assert str(event) == f"#{event.seq} 起草目录（catalog.draft_resource）"
