"""Query engines behind the one query path: DuckDB in-process by default, Spark (local mode here, a
cluster in production) for resources configured as large. Both get the same SQL, transpiled by SQLGlot,
over the same snapshot, and must give the same answer.

Each run keeps to its ``limits.Budget``. DuckDB: its threads and memory limit are set per run (each
thread has its own in-memory database, so the settings are the run's alone), nothing spills to disk, and
the time limit is kept by a timer that interrupts the connection (DuckDB has no statement timeout).
Spark: the run's jobs form a job group the timer cancels (a running task stops when Spark next checks for
it, within seconds); its threads are the session's (``local[N]``) and its memory the JVM's
(``spark.driver.memory``), both fixed when the session starts."""

from __future__ import annotations

import atexit
import threading
import uuid
from pathlib import Path

import duckdb
import sqlglot
from django.conf import settings
from sqlglot import exp

from . import crypto, limits

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


def _query_duckdb() -> duckdb.DuckDBPyConnection:
    """The query path's own DuckDB per thread (the warehouse's own work keeps ``_duckdb``): no file access,
    no spilling to a temporary directory, so a run that outgrows its memory limit is refused."""
    con = getattr(_local, "query_con", None)
    if con is None:
        con = duckdb.connect(config={"enable_external_access": False, "python_enable_replacements": False,
                                     "temp_directory": "", "threads": 1})
        _local.query_con = con
        atexit.register(con.close)
    return con


def run_duckdb(path: Path, *, encrypted: bool, sql: str, params: list, budget: limits.Budget) -> tuple[list[str], list[tuple]]:
    con = _query_duckdb().cursor()
    timer = threading.Timer(budget.seconds, con.interrupt)
    timer.daemon = True
    try:
        wanted = (int(budget.threads), max(budget.memory >> 20, 1))
        if getattr(_local, "query_limits", None) != wanted:  # the thread's database keeps them: set on change only
            con.execute(f"SET threads = {wanted[0]}")
            con.execute(f"SET memory_limit = '{wanted[1]}MiB'")
            _local.query_limits = wanted
        con.register("raw", crypto.dataset(path, encrypted=encrypted))
        timer.start()
        relation = con.execute(sql, params)
        return [d[0] for d in relation.description], relation.fetchall()
    except duckdb.InterruptException:
        raise limits.too_slow() from None
    except duckdb.OutOfMemoryException:
        raise limits.too_large() from None
    finally:
        timer.cancel()
        con.close()


def spark_session():
    global _spark
    with _spark_lock:
        if _spark is None:
            from pyspark.sql import SparkSession

            _spark = (
                SparkSession.builder.master(f"local[{max(1, settings.GONGSHU_QUERY_THREADS)}]").appName("gongshu")
                .config("spark.driver.memory", f"{max(settings.GONGSHU_QUERY_MEMORY_MB, 512)}m")
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


def run_spark(path: Path, *, encrypted: bool, sql: str, params: list, budget: limits.Budget) -> tuple[list[str], list[tuple]]:
    spark = spark_session()
    context = spark.sparkContext
    group, fired, done = f"gongshu-{uuid.uuid4().hex}", threading.Event(), threading.Event()

    def cancel():  # again and again: a query's later jobs (adaptive execution) start after the first cancel
        fired.set()
        while not done.is_set():
            context.cancelJobGroup(group)
            done.wait(0.2)

    timer = threading.Timer(budget.seconds, cancel)
    timer.daemon = True
    if encrypted:
        # Decrypted in memory through Arrow; a cluster would use Parquet encryption with a Hadoop KMS instead.
        frame = spark.createDataFrame(crypto.dataset(path, encrypted=True).to_table())
    else:
        frame = spark.read.parquet(str(path))
    view = f"raw_{threading.get_ident()}"
    frame.createOrReplaceTempView(view)
    context.setJobGroup(group, "gongshu query", interruptOnCancel=True)  # this thread's jobs, until cleared
    try:
        timer.start()
        result = spark.sql(to_spark_sql(sql, params, raw=view))
        rows = [tuple(r) for r in result.collect()]
        return list(result.columns), rows
    except Exception:
        if fired.is_set():  # the jobs were cancelled for the time limit
            raise limits.too_slow() from None
        raise
    finally:
        done.set()
        timer.cancel()
        context.setLocalProperty("spark.jobGroup.id", None)
        spark.catalog.dropTempView(view)


ENGINES = {"duckdb": run_duckdb, "spark": run_spark}
