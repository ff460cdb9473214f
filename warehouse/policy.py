"""The SQL policy check (DESIGN rule 3): parse with SQLGlot and allow nothing but a read of the permitted
table and columns, with functions and cast types from allowlists, joins on a condition, and few relations.
Everything else is refused before any engine runs. What the policy cannot see (a condition that matches
nearly every pair of rows) the engine's limits stop (``warehouse.limits``)."""

from __future__ import annotations

import logging

import sqlglot
from django.conf import settings
from sqlglot import exp
from sqlglot.errors import ParseError

from foundation.errors import PermissionDenied, ValidationFailed

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # hostile input is expected; refusals are ours to report

TABLE = "data"
MAX_SQL = 20_000

ALLOWED_FUNCTIONS = {
    # aggregates
    "count", "sum", "avg", "min", "max", "median", "stddev", "stddev_samp", "stddev_pop", "variance", "var_samp",
    "var_pop", "countif", "count_if", "approx_distinct", "approx_count_distinct", "bool_and", "bool_or",
    # scalar
    "abs", "round", "floor", "ceil", "ceiling", "sign", "sqrt", "power", "pow", "mod", "ln", "log", "exp",
    "lower", "upper", "length", "substring", "substr", "trim", "ltrim", "rtrim", "concat", "left", "right",
    "replace", "strpos", "starts_with", "ends_with", "contains", "lpad", "rpad", "reverse",
    "coalesce", "nullif", "greatest", "least", "if", "iif", "cast", "try_cast", "trycast",
    "date_trunc", "datetrunc", "extract", "year", "month", "day", "quarter", "week", "dayofweek", "date_part",
    "datepart", "strftime", "timestrtotime", "strtotime", "tsordstodate", "date", "current_date", "date_diff",
    "datediff", "date_add", "dateadd", "date_sub", "datesub",
}
T = exp.DataType.Type
# What a value may be cast to: text, numbers, truth values, dates and times: every engine has them and
# every answer format carries them (a BLOB, a nested or a JSON value would not reach the caller whole).
ALLOWED_TYPES = {
    T.TEXT, T.VARCHAR, T.NVARCHAR, T.CHAR, T.NCHAR, T.BPCHAR,
    T.TINYINT, T.SMALLINT, T.INT, T.BIGINT, T.INT128, T.UTINYINT, T.USMALLINT, T.UINT, T.UBIGINT,
    T.DECIMAL, T.FLOAT, T.DOUBLE, T.BOOLEAN,
    T.DATE, T.TIME, T.TIMESTAMP, T.TIMESTAMPNTZ, T.TIMESTAMPTZ, T.DATETIME,
}
FORBIDDEN = (
    exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Command, exp.Copy, exp.Set, exp.Pragma,
    exp.Describe, exp.Use, exp.Transaction, exp.Commit, exp.Rollback, exp.Merge, exp.Into, exp.LoadData, exp.Attach,
    exp.Detach, exp.Install, exp.Summarize, exp.Export,
)


def _name(func: exp.Func) -> str:
    if isinstance(func, exp.Anonymous):
        return str(func.this).lower()
    return func.sql_name().lower()


def check(sql: str, *, columns: set[str]) -> exp.Expression:
    """The parsed query if it only reads ``data`` and ``columns``; otherwise a refusal saying why."""
    if not sql or not sql.strip():
        raise ValidationFailed("请提供查询语句", field="sql")
    if len(sql) > MAX_SQL:
        raise ValidationFailed("查询语句过长", field="sql")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        raise ValidationFailed(f"查询语句无法解析：{str(exc).splitlines()[0][:160]}", field="sql", code="sql_syntax") from None
    except Exception:  # SQLGlot raises assorted errors on hostile input
        raise ValidationFailed("查询语句无法解析", field="sql", code="sql_syntax") from None
    if len(statements) != 1:
        raise PermissionDenied("只允许一条查询语句", field="sql", code="sql_forbidden")
    tree = statements[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        raise PermissionDenied("只允许 SELECT 查询", field="sql", code="sql_forbidden")
    for node in tree.walk():
        if isinstance(node, FORBIDDEN):
            raise PermissionDenied(f"不允许的语句：{node.key}", field="sql", code="sql_forbidden")
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    if TABLE in ctes:
        raise PermissionDenied("不能重新定义 data", field="sql", code="sql_forbidden")
    if any(w.args.get("recursive") for w in tree.find_all(exp.With)):
        raise PermissionDenied("不允许递归查询（WITH RECURSIVE）", field="sql", code="sql_forbidden")
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.args.get("db") or table.args.get("catalog"):
            raise PermissionDenied("只能查询 data 表", field="sql", code="sql_table")
        if table.name.lower() not in ctes | {TABLE}:
            raise PermissionDenied(f"只能查询 data 表，不能查询 {table.name}", field="sql", code="sql_table")
    _check_joins(tree)
    for kind in tree.find_all(exp.DataType):
        if kind.this not in ALLOWED_TYPES or kind.args.get("nested"):
            raise ValidationFailed(f"不允许转换为类型 {kind.sql(dialect='duckdb')}", field="sql", code="sql_type")
    for func in tree.find_all(exp.Func):
        if isinstance(func, (exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Extract, exp.Count, exp.Paren)):
            continue
        if _name(func) not in ALLOWED_FUNCTIONS:
            raise PermissionDenied(f"不允许的函数：{_name(func)}", field="sql", code="sql_function")
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)} | {c.lower() for c in _cte_columns(tree)}
    allowed = {c.lower() for c in columns}
    for column in tree.find_all(exp.Column):
        name = column.name.lower()
        if name and name not in allowed and name not in aliases:
            raise PermissionDenied(f"无权查询数据项 {column.name}", field="sql", code="sql_column")
    return tree


def _check_joins(tree: exp.Expression) -> None:
    """At most GONGSHU_QUERY_MAX_RELATIONS tables named (``data`` and CTEs, each use counted), and every
    join on a condition about its rows: a join without one is a cross product (n × m rows)."""
    most = settings.GONGSHU_QUERY_MAX_RELATIONS
    if len(list(tree.find_all(exp.Table))) > most:
        raise ValidationFailed(f"一条查询最多引用 {most} 次表（data 与 WITH 子句的每次引用都计入）", field="sql",
                               code="sql_relations")
    for join in tree.find_all(exp.Join):
        if not _on_a_condition(join):
            raise ValidationFailed("连接须用 JOIN … ON（或 USING）写明与数据项有关的连接条件：不允许无条件连接、逗号连接或常量条件",
                                   field="sql", code="sql_join")


def _on_a_condition(join: exp.Join) -> bool:
    """USING, or ON with a column of the joining SELECT itself (not a constant, not a subquery's alone)."""
    if (join.args.get("method") or "").upper() in ("NATURAL", "POSITIONAL") or (join.args.get("kind") or "").upper() == "CROSS":
        return False
    if join.args.get("using"):
        return True
    on = join.args.get("on")
    return on is not None and any(c.find_ancestor(exp.Select) is join.parent_select for c in on.find_all(exp.Column))


def _cte_columns(tree: exp.Expression) -> list[str]:
    names = []
    for cte in tree.find_all(exp.CTE):
        names.extend(s.alias_or_name for s in cte.this.selects if s.alias_or_name)
    return names
