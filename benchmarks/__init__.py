"""`make bench`: the pipeline measured phase by phase on simulated worlds of fixed size.

`python -m benchmarks.run --scale S|M|L|XL` simulates a world (fixed seed, 7 days), loads it
(ingest with its gate, then `dbt build`), loads one more day, runs a bare-DuckDB baseline over the
same raw Parquet, and writes the figures to `benchmarks/results/<scale>-<timestamp>.json`.
Every phase runs in a fresh child process so that its peak memory is its own.
"""
