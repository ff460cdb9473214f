"""P2 (issue 13, item 6): views and API handlers read through selectors, which restrict by actor; none reads a
model's manager (``<Model>.objects``) itself."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _is_view_or_api(path: Path) -> bool:
    return path.name in ("views.py", "api.py") or path.name.endswith("_api.py") or path.parent.name == "views"


def _modules():
    for path in sorted(ROOT.glob("**/*.py")):
        if not {".venv", "tests", "migrations", "node_modules"} & set(path.relative_to(ROOT).parts) and _is_view_or_api(path):
            yield path


def manager_reads(source: str) -> list[tuple[int, str]]:
    """Every ``.objects`` on a name or an attribute (``Resource.objects``, ``models.Resource.objects``)."""
    return [(node.lineno, ast.unparse(node)) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute) and node.attr == "objects" and isinstance(node.value, (ast.Name, ast.Attribute))]


def test_the_check_finds_a_manager_read():
    found = manager_reads("def view(request):\n    return Resource.objects.filter(pk=1), models.Grant.objects.all()\n")
    assert sorted(found) == [(2, "Resource.objects"), (2, "models.Grant.objects")]
    assert manager_reads("def view(request):\n    return selectors.restrict(request.actor).filter(pk=1)\n") == []


def test_no_view_or_api_module_reads_a_model_manager_directly_P2():
    modules = list(_modules())
    assert {"catalog/views.py", "catalog/api.py", "sharing/federation_api.py", "core/audit_api.py", "gongshu/api.py"} <= {
        p.relative_to(ROOT).as_posix() for p in modules}
    reads = [f"{path.relative_to(ROOT)}:{line} {text}" for path in modules
             for line, text in manager_reads(path.read_text(encoding="utf-8"))]
    assert not reads, "read through the app's selectors (restricted by actor), not the model's manager:\n" + "\n".join(reads)
