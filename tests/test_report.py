"""The executive report: built after publish, honest figures, renders offline in headless Chromium.

Chromium is Debian's package (`make test` installs it when /usr/bin/chromium is missing), driven
over the DevTools protocol with `websockets` (pinned in pyproject.toml): every network request the
page makes is seen as a `Network.requestWillBeSent` event, so "no external request" is observed,
not assumed. The screenshot is kept in test-artifacts/report.png. Also here: the run-failure
sensor, tested on a real failed run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from orchestration.report import REPORT_PREFIX, build_report, collect, connect_serving
from orchestration.settings import PROJECT_DIR, Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_DIR / "test-artifacts"
CHARTS = {
    "monthly-revenue",
    "revenue-per-customer-by-segment",
    "revenue-per-customer-by-tier",
    "revenue-per-customer-by-country",
    "pareto",
    "cohort-retention",
    "churn-by-reason",
}


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} missing in CI: run `make chromium` (apt-get install chromium)")
    pytest.skip("chromium not installed (`make chromium` installs Debian's package)")


# ---------------------------------------------------------------------------------------------
# A minimal DevTools-protocol client: enough to load a page, watch its requests, screenshot it.


@dataclass
class Page:
    socket: object
    next_id: int = 0
    events: list[dict] = field(default_factory=list)

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, predicate=lambda params: True, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and predicate(event.get("params", {})):
                    return
            seen = len(self.events)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.socket.recv(timeout=remaining)))

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Page]:
    from websockets.sync.client import connect

    profile = Path(tempfile.mkdtemp(prefix="cdw-chromium-"))
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as reply:
            targets = json.load(reply)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        with connect(url, max_size=None, open_timeout=30) as socket:
            page = Page(socket)
            page.call("Network.enable")
            page.call("Page.enable")
            page.call("Page.setLifecycleEventsEnabled", enabled=True)
            yield page
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


def load(page: Page, path: Path) -> None:
    page.call("Page.navigate", url=path.as_uri())
    page.wait_for("Page.loadEventFired")
    # networkIdle: nothing in flight for 500 ms, so late requests (fonts, lazy images) are seen.
    page.wait_for("Page.lifecycleEvent", lambda p: p.get("name") == "networkIdle")


def external(urls: list[str]) -> list[str]:
    return [url for url in urls if not url.startswith(("file://", "data:", "about:"))]


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_file(loaded_world) -> Path:
    """The report the daily load's publish built (the asset after `serving/marts`)."""
    reports = sorted(loaded_world.settings.reports_dir.glob(f"{REPORT_PREFIX}-*.html"))
    assert reports, "the daily load did not build the report after publishing"
    return reports[-1]


def test_report_is_built_after_publish_for_the_last_load_date(loaded_world, report_file):
    last = max(loaded_world.report.load_dates)
    assert report_file.name == f"{REPORT_PREFIX}-{last.isoformat()}.html"
    html = report_file.read_text(encoding="utf-8")
    # Self-contained: no script, no link to a stylesheet or font, nothing fetched by URL.
    for forbidden in ("<script", "<link", "@import", "url(", "src=", "http://", "https://"):
        assert forbidden not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "@media print" in html
    assert "Amounts in" in html or "amounts in" in html


def test_report_figures_agree_with_the_marts(loaded_world):
    from orchestration.summaries import headline

    settings: Settings = loaded_world.settings
    data = collect(settings)
    kpis = {k.name: k for k in data.kpis}
    with connect_serving(settings) as db:
        t12m_revenue, t12m_margin = db.execute(
            "select sum(t12m_revenue)::double, sum(t12m_margin)::double "
            "from marts.mart_revenue_per_customer"
        ).fetchone()
        churned = db.execute(
            "select churn_reason, count(*) from marts.mart_customer_churn "
            "where churn_status = 'churned' group by 1"
        ).fetchall()
    customers = kpis["Customers"].current
    assert customers > 0
    assert kpis["Revenue"].current == pytest.approx(t12m_revenue, abs=0.01)
    assert kpis["Margin per customer"].current == pytest.approx(t12m_margin / customers)
    # The report's NRR is the figure `cdw load` prints (summaries), computed the same way.
    assert kpis["Net revenue retention"].current == pytest.approx(
        headline(settings).net_revenue_retention
    )
    assert 0 <= kpis["Churn rate"].current <= 1
    assert data.pareto[-1] == pytest.approx(1.0)
    assert all(a <= b + 1e-12 for a, b in zip(data.pareto, data.pareto[1:], strict=False))
    by_reason = {reason: n for reason, n, _ in data.churn_by_reason}
    expected = {reason or "not stated": n for reason, n in churned}
    assert by_reason == expected
    assert sum(r.revenue for r in data.by_segment) == pytest.approx(t12m_revenue, abs=0.01)
    assert data.currency == "EUR"
    assert all(row["lifetime_revenue"] > 0 for row in data.at_risk)


def test_report_renders_offline_in_headless_chromium(report_file):
    _require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        load(page, report_file)
        charts = page.evaluate(
            "JSON.stringify([...document.querySelectorAll('svg[data-chart]')].map(s => {"
            "const r = s.getBoundingClientRect();"
            "return {name: s.dataset.chart, w: r.width, h: r.height,"
            " marks: s.querySelectorAll('rect,polyline,circle').length}}))"
        )
        title = page.evaluate("document.title")
        height = page.evaluate("document.documentElement.scrollHeight")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            width=1280,
            height=int(height),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        urls = page.requested_urls()
    import base64

    png = base64.b64decode(shot["data"])
    (ARTIFACTS / "report.png").write_bytes(png)
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    assert title.startswith("Revenue per customer")
    drawn = {c["name"]: c for c in json.loads(charts)}
    assert set(drawn) == CHARTS
    for name, chart in drawn.items():
        assert chart["w"] > 100 and chart["h"] > 40, f"chart {name} not laid out: {chart}"
        assert chart["marks"] > 0, f"chart {name} draws nothing"
    assert urls == [report_file.as_uri()]
    assert external(urls) == []


def test_the_request_watch_sees_an_external_request(tmp_path):
    """The control: a page that fetches from the network is caught (so the check can fail)."""
    _require_chromium()
    page_file = tmp_path / "leaky.html"
    page_file.write_text("<html><body><img src='http://example.invalid/logo.png'></body></html>")
    with chromium_page() as page:
        load(page, page_file)
        assert external(page.requested_urls()) == ["http://example.invalid/logo.png"]


def test_cdw_report_rebuilds_from_the_serving_file(loaded_world, tmp_path):
    from typer.testing import CliRunner

    from orchestration.cli import app

    settings: Settings = loaded_world.settings
    result = CliRunner().invoke(
        app, ["--data-dir", str(settings.data_dir), "report", "--open-path"]
    )
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path.parent == settings.reports_dir and path.exists()
    empty = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "report"])
    assert empty.exit_code == 1
    assert "nothing published yet" in empty.output


def test_report_reads_the_serving_file_read_only(loaded_world):
    """A report build never takes the serving file's write lock (a BI reader keeps reading)."""
    settings: Settings = loaded_world.settings
    with duckdb.connect(str(settings.serving_path), read_only=True) as reader:
        before = reader.execute("select count(*) from mart_revenue_per_customer").fetchone()
        build_report(settings)
        assert reader.execute("select count(*) from mart_revenue_per_customer").fetchone() == before


# ---------------------------------------------------------------------------------------------
# The run-failure sensor


def test_run_failure_sensor_records_an_alert_for_a_failed_run(tmp_path):
    import dagster as dg

    from orchestration.alerts import read_alerts
    from orchestration.report_assets import revenue_per_customer_report
    from orchestration.resources import WarehouseConfig
    from orchestration.sensors import run_failure_alert

    settings = Settings(data_dir=tmp_path)
    warehouse = WarehouseConfig(data_dir=str(tmp_path))
    with dg.DagsterInstance.ephemeral() as instance:
        # A real run that fails: the report asset with nothing published to read.
        result = dg.materialize(
            [revenue_per_customer_report],
            resources={"warehouse": warehouse},
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(
            record.dagster_event
            for record in instance.all_logs(result.run_id)
            if record.dagster_event and record.dagster_event.event_type_value == "PIPELINE_FAILURE"
        )
        for _ in range(2):  # a sensor may see a run twice: one alert only
            context = dg.build_run_status_sensor_context(
                sensor_name=run_failure_alert.name,
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=failure,
                resources={"warehouse": warehouse},
            ).for_run_failure()
            run_failure_alert(context)
    alerts = read_alerts(settings)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.run_id == result.run_id
    assert alert.job == run.job_name
    assert alert.failed_steps == ("reports__revenue_per_customer",)
    assert "nothing published yet" in alert.error
