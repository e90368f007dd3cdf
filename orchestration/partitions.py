"""Load dates: one partition per delivery folder in landing/, registered as deliveries arrive."""

import dagster as dg

load_dates = dg.DynamicPartitionsDefinition(name="load_date")
