"""Dependency order and statistics for the module graph and the commit DAG (networkx).

Convention for every graph here: an edge u -> v means "u comes before v" (v depends on u:
v uses a symbol u defines, or module v uses module u). `dependency_order` therefore puts
definitions before their uses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

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


_GRAPHML_HEAD = (
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">')


def _graphml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def graphml_lines(graph: nx.DiGraph) -> Iterator[str]:
    """GraphML of a directed graph, nodes and edges in sorted order. networkx's writer builds
    an ElementTree first, which took a second per large DAG; this writes the same document
    (same keys and types: nx.read_graphml reads back the same graph) line by line."""
    keys: dict[tuple[str, str], tuple[str, str]] = {}

    def key_of(domain: str, name: str, value: Any) -> str:
        found = keys.get((domain, name))
        if found is None:
            found = keys[(domain, name)] = (f"d{len(keys)}", _graphml_type(value))
        return found[0]

    def data(domain: str, attrs: dict[str, Any], indent: str) -> list[str]:
        # Numbers need no escaping (a DAG's edges are mostly numbers: naga's 43,752 edges
        # took 0.37 s before names and numbers were spared the escape and quote calls).
        return [f'{indent}<data key="{key_of(domain, k, v)}">'
                f'{v if type(v) is int else escape(str(v))}</data>'
                for k, v in attrs.items()]

    graph_data = data("graph", graph.graph, "    ")  # graph keys first, as networkx does
    body: list[str] = []
    quoted = {node: quoteattr(str(node)) for node in graph.nodes}
    for node in sorted(graph.nodes, key=str):
        attrs = data("node", graph.nodes[node], "      ")
        node_id = quoted[node]
        body += [f"    <node id={node_id}>", *attrs, "    </node>"] if attrs else [
            f"    <node id={node_id} />"]
    for u, v, edge_attrs in sorted(graph.edges(data=True),
                                   key=lambda e: (str(e[0]), str(e[1]))):
        attrs = data("edge", edge_attrs, "      ")
        head = f"    <edge source={quoted[u]} target={quoted[v]}"
        body += [f"{head}>", *attrs, "    </edge>"] if attrs else [f"{head} />"]
    body += graph_data
    yield _GRAPHML_HEAD
    # Keys in the order networkx declares them (last registered first).
    for (domain, name), (key_id, kind) in reversed(list(keys.items())):
        yield (f'  <key id="{key_id}" for="{domain}" attr.name={quoteattr(name)} '
               f'attr.type="{kind}" />')
    yield '  <graph edgedefault="directed">'
    yield from body
    yield "  </graph>"
    yield "</graphml>"


def write_graphml(graph: nx.DiGraph, path: Path) -> None:
    """GraphML with deterministic node and edge order, written atomically."""
    atomic_write_text(path, "\n".join(graphml_lines(graph)) + "\n")
