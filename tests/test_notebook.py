"""notebooks/report.ipynb runs top to bottom (nbclient) on a run's output and draws its figures, so it cannot rot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT
from udfs.config import STAGES
from udfs.report import SUMMARY_COLUMNS, ReportConfig, funnel_rows, with_shares, write_report

NOTEBOOK = REPO_ROOT / "notebooks" / "report.ipynb"


def execute_notebook(output: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The executed notebook; any failing cell raises ``CellExecutionError``."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("CC_REFINERY_OUTPUT", str(output))  # the kernel inherits this process's environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    return notebook


def outputs(notebook: Any) -> list[dict[str, Any]]:
    return [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def png_count(notebook: Any) -> int:
    return sum("image/png" in out.get("data", {}) for out in outputs(notebook))


def printed(notebook: Any) -> str:
    return "".join(out.get("text", "") for out in outputs(notebook) if out.get("output_type") == "stream")


def test_notebook_has_a_parameters_cell() -> None:
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "CC_REFINERY_OUTPUT" in tagged[0].source
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "commit it without outputs"


def write_small_run(output: Path) -> None:
    """A run output without Spark: documents/ partitioned by lang (pyarrow) and reports/ from udfs.report."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.test_report import DOCUMENTS, REJECTED

    names = [
        "id",
        "text",
        "lang",
        "category",
        "n_tokens",
        "n_chars",
        "lang_score",
        "perplexity",
        "quality_score",
        "pii_email",
        "pii_phone",
    ]
    documents = pd.DataFrame(DOCUMENTS, columns=names)
    pq.write_to_dataset(pa.Table.from_pandas(documents), str(output / "documents"), partition_cols=["lang"])
    raw = (
        documents.fillna({"category": "other"})
        .groupby(["category", "lang"], as_index=False)
        .agg(documents=("id", "count"), tokens=("n_tokens", "sum"), chars=("n_chars", "sum"))
    )
    by_reason = pd.Series([(r[5], r[6]) for r in REJECTED]).value_counts().to_dict()
    signals = pd.DataFrame(
        {
            "signal": ["lang_score", "lang_score"],
            "part": ["documents", "rejected"],
            "bin_low": [0.9, 0.3],
            "bin_high": [0.95, 0.35],
            "count": [5, 2],
        }
    )
    summary = pd.DataFrame(
        [["lang_score", "documents", 5, 0.842, 0.66, 0.66, 0.9, 0.99, 0.99]], columns=SUMMARY_COLUMNS
    )
    tables = {
        "tokens_by_category": with_shares(raw),
        "signals": signals,
        "signal_summary": summary,
        "funnel": funnel_rows(by_reason, len(DOCUMENTS), len(DOCUMENTS) + len(REJECTED), STAGES),
    }
    write_report(
        output / "reports",
        tables,
        {"run_id": "nb", "stages": list(STAGES), "records_read": 9},
        ReportConfig(plots=False),
    )


def test_notebook_draws_a_small_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_small_run(tmp_path)
    notebook = execute_notebook(tmp_path, monkeypatch)
    # tokens by category × language, funnel, signals, document lengths
    assert png_count(notebook) == 4
    assert "4 figures" in printed(notebook)
    assert "run nb: stages" in printed(notebook)
    html = "".join(out.get("data", {}).get("text/html", "") for out in outputs(notebook))
    assert "encyclopedia" in html and "langid:low_score" in html
