"""The BTYD models (macros/btyd.sql) on Spark: compiled by dbt for the spark target and run in a
local session over customers simulated from known parameters, against scipy as in
tests/test_btyd.py. Opt-in with CDW_RUN_SPARK_BTYD=1 (2 min 21 s on the 2-core machine):
`make test` already builds the fits and the marts that read them on Spark in
tests/test_spark_parity.py, equal to DuckDB's, whose fits this file's twin checks.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from test_btyd import (
    TRUE_BGNBD,
    TRUE_GAMMA_GAMMA,
    bgnbd_log_likelihood,
    gamma_gamma_log_likelihood,
    reference_predictions,
    scipy_fit,
    simulate,
)
from test_dbt_build import PROJECT_DIR

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("CDW_RUN_SPARK_BTYD") != "1", reason="opt-in: CDW_RUN_SPARK_BTYD=1"
    ),
]

MODELS = (
    "int_analytics__bgnbd_fit",
    "int_analytics__gamma_gamma_fit",
    "int_analytics__customer_clv",
)
CUSTOMERS = 3_000


def test_btyd_models_on_spark_agree_with_scipy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make install)")
    from dbt.cli.main import dbtRunner
    from pyspark.sql import SparkSession

    monkeypatch.setenv("CDW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CDW_TARGET", "spark")
    # dbt's session connection reuses this session; 2 GB of driver heap is too little to plan
    # the fits' queries
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path / "spark" / "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={tmp_path}/spark/metastore_db;create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp_path}/spark")
        .enableHiveSupport()
        .getOrCreate()
    )
    try:
        h = simulate(CUSTOMERS, seed=11)
        histories = h.table()
        spark.sql("create database if not exists intermediate")
        spark.createDataFrame(histories.to_pandas()).write.saveAsTable(
            "intermediate.int_analytics__customer_btyd"
        )
        compiled = dbtRunner().invoke([
            "compile", "--target", "spark", "--select", " ".join(MODELS),
            "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
            "--quiet",
        ])  # fmt: skip
        assert compiled.success, compiled.exception
        nodes = {result.node.name: result.node for result in compiled.result.results}
        for name in MODELS:  # in dependency order, each after its pre-hooks
            for hook in nodes[name].config.pre_hook:
                spark.sql(hook.sql)
            spark.sql(
                f"create table intermediate.{name} using parquet as {nodes[name].compiled_code}"
            )
        bgnbd = spark.table("intermediate.int_analytics__bgnbd_fit").toPandas().iloc[0]
        gamma_gamma = spark.table("intermediate.int_analytics__gamma_gamma_fit").toPandas().iloc[0]
        got = spark.table("intermediate.int_analytics__customer_clv").toPandas()
    finally:
        spark.stop()

    reference, log_likelihood = scipy_fit(
        lambda z: bgnbd_log_likelihood(z, h), np.log([1.0, 50.0, 1.0, 1.0])
    )
    assert bgnbd["log_likelihood"] == pytest.approx(log_likelihood, abs=1e-3)
    np.testing.assert_allclose([bgnbd[name] for name in TRUE_BGNBD], reference, rtol=2e-3)
    repeat = h.x > 0
    reference, log_likelihood = scipy_fit(
        lambda z: gamma_gamma_log_likelihood(z, h.x[repeat].astype(float), h.m[repeat]),
        np.log([1.0, 2.0, float(h.m[repeat].mean())]),
    )
    assert gamma_gamma["log_likelihood"] == pytest.approx(log_likelihood, abs=1e-3)
    np.testing.assert_allclose(
        [gamma_gamma[name] for name in TRUE_GAMMA_GAMMA], reference, rtol=2e-3
    )
    got = got.set_index(got["customer_id"].str[1:].astype(int)).sort_index()
    # the Stirling log-gamma in the series coefficients: 1e-8, not DuckDB's 1e-9
    for column, values in reference_predictions(h, bgnbd, gamma_gamma).items():
        np.testing.assert_allclose(got[column].to_numpy(float), values, rtol=1e-7, err_msg=column)
