"""Query engines behind the one query path: DuckDB in-process by default, Spark (local mode here, a
cluster in production) for resources configured as large. Both get the same SQL, transpiled by SQLGlot,
over the same snapshot, and must give the same answer."""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from . import crypto

_local = threading.local()
_spark_lock = threading.Lock()
_spark = None


def _duckdb() -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per thread that cannot touch the file system: data reaches it only as the
    Arrow dataset of the snapshot the query path hands over."""
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"enable_external_access": False, "python_enable_replacements": False, "threads": 2})
        _local.con = con
        atexit.register(con.close)
    return con


def run_duckdb(path: Path, *, encrypted: bool, sql: str, params: list) -> tuple[list[str], list[tuple]]:
    con = _duckdb().cursor()
    try:
        con.register("raw", crypto.dataset(path, encrypted=encrypted))
        relation = con.execute(sql, params)
        return [d[0] for d in relation.description], relation.fetchall()
    finally:
        con.close()


def spark_session():
    global _spark
    with _spark_lock:
        if _spark is None:
            from pyspark.sql import SparkSession

            _spark = (
                SparkSession.builder.master("local[1]").appName("gongshu")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
                .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.session.timeZone", "UTC").getOrCreate()
            )
            _spark.sparkContext.setLogLevel("ERROR")
            atexit.register(_spark.stop)
    return _spark


def to_spark_sql(sql: str, params: list, *, raw: str = "raw") -> str:
    """DuckDB SQL with ``?`` placeholders -> Spark SQL with the values as quoted literals (by SQLGlot)
    and the snapshot's table named ``raw``."""
    values = iter(params)

    def rewrite(node):
        if isinstance(node, exp.Placeholder):
            return exp.Literal.string(str(next(values)))
        if isinstance(node, exp.Table) and node.name == "raw":
            return exp.to_table(raw)
        return node

    return sqlglot.parse_one(sql, read="duckdb").transform(rewrite).sql(dialect="spark")


def run_spark(path: Path, *, encrypted: bool, sql: str, params: list) -> tuple[list[str], list[tuple]]:
    spark = spark_session()
    if encrypted:
        # Decrypted in memory through Arrow; a cluster would use Parquet encryption with a Hadoop KMS instead.
        frame = spark.createDataFrame(crypto.dataset(path, encrypted=True).to_table())
    else:
        frame = spark.read.parquet(str(path))
    view = f"raw_{threading.get_ident()}"
    frame.createOrReplaceTempView(view)
    try:
        result = spark.sql(to_spark_sql(sql, params, raw=view))
        rows = [tuple(r) for r in result.collect()]
        return list(result.columns), rows
    finally:
        spark.catalog.dropTempView(view)


ENGINES = {"duckdb": run_duckdb, "spark": run_spark}
