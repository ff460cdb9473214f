"""Warehouse: validated ingest of a 1 M-row GBK CSV into a published snapshot vs a bare pyarrow read +
Parquet write of the same file; per-record lookup through the full query path vs bare engines."""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from catalog.models import Resource
from core.actor import system_actor
from core.identifiers import random_citizen_id
from warehouse import query
from warehouse.services import ingest_file

ROWS = 1_000_000
LOOKUPS = 300


def _gbk_csv(path: Path, n: int) -> list[str]:
    rng = random.Random(11)
    surnames, given = "王李张刘陈杨赵黄周吴", ["伟", "芳", "娜", "敏", "静", "强", "磊", "军"]
    districts = ["230502", "230503", "230505", "230506", "230521", "230522", "230523", "230524"]
    ids = []
    seen = set()
    with path.open("w", encoding="gbk", newline="") as fh:
        fh.write("公民身份号码,姓名,性别,出生日期,民族,户籍地址,户号,户籍地区划代码\n")
        lines = []
        while len(ids) < n:
            division = rng.choice(districts)
            cid = random_citizen_id(rng, division)
            if cid in seen:
                continue
            seen.add(cid)
            ids.append(cid)
            gender = "男" if int(cid[16]) % 2 else "女"
            lines.append(f"{cid},{rng.choice(surnames)}{rng.choice(given)},{gender},{cid[6:10]}-{cid[10:12]}-{cid[12:14]},汉族,"
                         f"双鸭山市尖山区幸福路{len(ids) % 300}号,H{len(ids):08d},{division}\n")
            if len(lines) == 50_000:
                fh.writelines(lines)
                lines = []
        fh.writelines(lines)
    return ids


def run():
    household = Resource.objects.get(name="户籍人口基本信息")
    actor = system_actor("bench")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "household.csv"
        ids = _gbk_csv(path, ROWS)
        started = time.perf_counter()
        batch = ingest_file(actor, household, path)
        ours = ROWS / (time.perf_counter() - started)
        assert batch.status == "published" and batch.rows_accepted == ROWS, batch.message
        started = time.perf_counter()
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="gb18030"))
        pq.write_table(table, Path(tmp) / "bare.parquet")
        bare = ROWS / (time.perf_counter() - started)
        rows.append((f"validated ingest, {ROWS // 10**6}M-row GBK CSV -> snapshot vs bare read+write", ours, bare, "r/s"))

        rng = random.Random(3)
        scope = query.scope_for(actor, household, purpose="基准测试")
        keys = [rng.choice(ids) for _ in range(LOOKUPS)]
        from warehouse import lookup

        lookup.warm(batch.snapshot, "citizen_id")  # steady state: the key index of a published snapshot is warm
        query.run(actor, household, scope=scope, filters={"citizen_id": keys[0]})
        started = time.perf_counter()
        for key in keys:
            result = query.run(actor, household, scope=scope, filters={"citizen_id": key})
            assert len(result.rows) == 1
        ours = LOOKUPS / (time.perf_counter() - started)

        import duckdb

        snapshot_path = str(Path(tmp) / "plain-sorted.parquet")  # the snapshot itself is encrypted by grade
        pq.write_table(query.arrow_of(batch.snapshot), snapshot_path, row_group_size=64 * 1024)
        con = duckdb.connect()
        started = time.perf_counter()
        for key in keys:
            con.execute(f"SELECT * FROM read_parquet('{snapshot_path}') WHERE citizen_id = ?", [key]).fetchall()
        bare_parquet = LOOKUPS / (time.perf_counter() - started)
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{snapshot_path}')")
        con.execute("CREATE UNIQUE INDEX t_key ON t (citizen_id)")
        started = time.perf_counter()
        for key in keys:
            con.execute("SELECT * FROM t WHERE citizen_id = ?", [key]).fetchall()
        art = LOOKUPS / (time.perf_counter() - started)
        rows.append((f"lookup by key, {ROWS // 10**6}M rows, full query path (warm) vs DuckDB ART index", ours, art, "/s"))
        rows.append(("  (bare DuckDB point query on the Parquet file, for reference)", bare_parquet, art, "/s"))
    return rows
