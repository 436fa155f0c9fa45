import subprocess
import sys

_SCRIPT = """
import sys
from dataset_builder.schema import skip_pandas_probe
skip_pandas_probe()
import pyarrow as pa
table = pa.Table.from_pydict({"x": [1, 2], "s": ["a", None]})
assert table.column("s").to_pylist() == ["a", None]
print("pandas" in sys.modules)
frame = table.to_pandas()  # an explicit conversion still imports pandas
print("pandas" in sys.modules, len(frame))
"""


def test_skip_pandas_probe_keeps_pandas_out_until_asked_for() -> None:
    # A fresh interpreter: this one may have imported pandas already.
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True", "2"]
