"""The module graph of a build's last snapshot (modules.parquet): modules, the largest
strongly connected component (a cycle: its members' order in module-group and crate samples
is not the dependencies'), and the edges out of crate roots (`use crate::Name` of a name the
root re-exports made one until 0.1.59, closing a cycle through each user).

    python bench/module_cycles.py OUT [OUT2 ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import networkx as nx
import pyarrow.parquet as pq


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for out in args.outs:
        rows = pq.read_table(out / "modules.parquet").to_pylist()
        if not rows:
            print(f"{out}: no modules")
            continue
        last = max(row["snapshot_index"] for row in rows)
        graph = nx.DiGraph()
        for row in rows:
            if row["snapshot_index"] == last:
                graph.add_node(row["node"])
                graph.add_edges_from((dep, row["node"]) for dep in row["depends_on"])
        roots = [node for node in graph if node.rpartition("#")[2] == "crate"]
        largest: set[str] = max(nx.strongly_connected_components(graph), key=len,
                                default=set())
        print(f"{out}: modules {graph.number_of_nodes()}, largest cycle {len(largest)}, "
              f"edges out of crate roots {sum(graph.out_degree(node) for node in roots)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
