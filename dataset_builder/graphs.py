"""Dependency order and statistics for the module graph and the commit DAG (networkx).

Convention for every graph here: an edge u -> v means "u comes before v" (v depends on u:
v uses a symbol u defines, or module v uses module u). `dependency_order` therefore puts
definitions before their uses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import networkx as nx

from dataset_builder.atomic import atomic_write_text


def _order_cycle(graph: nx.DiGraph, members: set[Hashable],
                 key: Callable[[Hashable], str]) -> list[Hashable]:
    """Order the nodes of one strongly connected component: repeatedly take the node with the
    fewest unplaced prerequisites (minimum in-degree, as DeepSeek-Coder orders files), ties
    broken by name."""
    remaining = set(members)
    order = []
    while remaining:
        best = min(remaining, key=lambda n: (
            sum(1 for p in graph.predecessors(n) if p in remaining and p != n), key(n)))
        order.append(best)
        remaining.remove(best)
    return order


def dependency_order(graph: nx.DiGraph,
                     key: Callable[[Hashable], str] = str) -> list[Hashable]:
    """All nodes, prerequisites first: condense strongly connected components, sort the
    condensation topologically with a deterministic tie-break (the smallest member by `key`,
    the node's name unless given), and order each component by minimum in-degree."""
    if graph.number_of_nodes() == 0:
        return []
    condensed = nx.condensation(graph)
    members: dict[int, set[Hashable]] = {
        c: set(data["members"]) for c, data in condensed.nodes(data=True)}
    first_name = {c: min(key(m) for m in ms) for c, ms in members.items()}
    order: list[Hashable] = []
    for component in nx.lexicographical_topological_sort(condensed, key=first_name.__getitem__):
        nodes = members[component]
        order.extend(_order_cycle(graph, nodes, key) if len(nodes) > 1 else nodes)
    return order


def graph_stats(graph: nx.DiGraph) -> dict[str, Any]:
    """Nodes, edges, weakly connected components, longest path (in edges, on the condensation)
    and the strongly connected components of more than one node that condensation removed."""
    if graph.number_of_nodes() == 0:
        return {"nodes": 0, "edges": 0, "components": 0, "longest_path": 0,
                "condensed_cycles": 0, "largest_cycle": 0, "isolated": 0}
    condensed = nx.condensation(graph)
    cycles = [len(d["members"]) for _, d in condensed.nodes(data=True) if len(d["members"]) > 1]
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "components": nx.number_weakly_connected_components(graph),
        "longest_path": nx.dag_longest_path_length(condensed),
        "condensed_cycles": len(cycles),
        "largest_cycle": max(cycles, default=0),
        "isolated": sum(1 for n in graph if graph.degree(n) == 0),
    }


def write_graphml(graph: nx.DiGraph, path: Path) -> None:
    """GraphML with deterministic node and edge order, written atomically."""
    ordered = nx.DiGraph()
    ordered.graph.update(graph.graph)
    for node in sorted(graph.nodes, key=str):
        ordered.add_node(node, **graph.nodes[node])
    for u, v in sorted(graph.edges, key=lambda e: (str(e[0]), str(e[1]))):
        ordered.add_edge(u, v, **graph.edges[u, v])
    atomic_write_text(path, "\n".join(nx.generate_graphml(ordered)) + "\n")
