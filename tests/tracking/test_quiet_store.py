"""A new MLflow store is created without MLflow's INFO lines about its tables (noise a user cannot act on),
in a fresh process, as `uae materialize` meets it on a first run."""

import subprocess
import sys


def test_a_new_store_prints_no_table_creation_lines(tmp_path):
    code = ("from uae_core.tracking import runs\n"
            f"client = runs.configure('sqlite:///{tmp_path / 'mlflow.db'}')\n"
            "print(len(client.search_experiments()))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "1" and (tmp_path / "mlflow.db").is_file()  # the store was made
    assert "Creating initial MLflow database tables" not in proc.stderr
    assert "Updating database tables" not in proc.stderr
