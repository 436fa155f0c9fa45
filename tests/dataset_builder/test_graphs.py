"""dataset_builder.graphs: dependency order, statistics and GraphML output."""

from __future__ import annotations

import random
from collections.abc import Hashable
from pathlib import Path

import networkx as nx
import pytest

from dataset_builder.graphs import dependency_order, graph_stats, write_graphml

# a -> b <-> c -> d, e isolated, f -> d. Edge u -> v: u comes before v.
NODES = ["a", "b", "c", "d", "e", "f"]
EDGES = [("a", "b"), ("b", "c"), ("c", "b"), ("c", "d"), ("f", "d")]


def build(nodes: list[str], edges: list[tuple[str, str]], seed: int | None = None) -> nx.DiGraph:
    """The graph with nodes and edges inserted in a shuffled order (seed None: as given)."""
    nodes, edges = list(nodes), list(edges)
    if seed is not None:
        rng = random.Random(seed)
        rng.shuffle(nodes)
        rng.shuffle(edges)
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    return graph


def assert_prerequisites_first(graph: nx.DiGraph, order: list[Hashable]) -> None:
    position = {node: i for i, node in enumerate(order)}
    condensed = nx.condensation(graph)
    component = condensed.graph["mapping"]
    for u, v in graph.edges:
        if component[u] != component[v]:  # edges inside a cycle cannot all point forward
            assert position[u] < position[v], (u, v)


def test_dependency_order_known_graph() -> None:
    graph = build(NODES, EDGES)
    order = dependency_order(graph)
    assert order == ["a", "b", "c", "e", "f", "d"]
    assert_prerequisites_first(graph, order)


def test_dependency_order_chain_and_diamond() -> None:
    chain = build(["z", "y", "x"], [("z", "y"), ("y", "x")])
    assert dependency_order(chain) == ["z", "y", "x"]
    diamond = build(["top", "l", "r", "bottom"],
                    [("top", "l"), ("top", "r"), ("l", "bottom"), ("r", "bottom")])
    assert dependency_order(diamond) == ["top", "l", "r", "bottom"]


@pytest.mark.parametrize("seed", range(10))
def test_dependency_order_is_deterministic(seed: int) -> None:
    reference = dependency_order(build(NODES, EDGES))
    assert dependency_order(build(NODES, EDGES, seed)) == reference


def test_dependency_order_cycles_condensed() -> None:
    # Two cycles (p <-> q, and r -> s -> t -> r) with a self loop on u.
    nodes = ["p", "q", "r", "s", "t", "u", "v"]
    edges = [("p", "q"), ("q", "p"), ("q", "r"), ("r", "s"), ("s", "t"), ("t", "r"),
             ("u", "u"), ("u", "v"), ("t", "v")]
    for seed in (None, 1, 2, 3):
        graph = build(nodes, edges, seed)
        order = dependency_order(graph)
        assert sorted(map(str, order)) == sorted(nodes)  # every node exactly once
        assert len(order) == len(set(order))
        assert_prerequisites_first(graph, order)
        assert order == dependency_order(build(nodes, edges))
    assert dependency_order(build(nodes, edges))[:2] == ["p", "q"]


def test_dependency_order_cycle_members_by_in_degree() -> None:
    # Cycle {a, b, c}: inside it a has 2 predecessors (b, c), b has 2 (a, c), c has 1 (b).
    # The member with the fewest unplaced predecessors comes first (c, not the smallest
    # name), then the rest again by in-degree among what is left (a and b tie: by name).
    graph = build(["w", "a", "b", "c"],
                  [("a", "b"), ("b", "c"), ("c", "a"), ("c", "b"), ("b", "a"), ("w", "a")])
    assert dependency_order(graph) == ["w", "c", "a", "b"]


def test_dependency_order_empty_and_integers() -> None:
    assert dependency_order(nx.DiGraph()) == []
    graph = build([], [])
    graph.add_edges_from([(3, 1), (2, 1)])
    assert dependency_order(graph) == [2, 3, 1]


def test_graph_stats_known_graph() -> None:
    stats = graph_stats(build(NODES, EDGES))
    assert stats == {
        "nodes": 6,
        "edges": 5,
        "components": 2,  # {a, b, c, d, f} and {e}
        "longest_path": 2,  # a -> {b, c} -> d on the condensation
        "condensed_cycles": 1,
        "largest_cycle": 2,
        "isolated": 1,
    }


def test_graph_stats_empty_and_dag() -> None:
    assert graph_stats(nx.DiGraph()) == {"nodes": 0, "edges": 0, "components": 0,
                                         "longest_path": 0, "condensed_cycles": 0,
                                         "largest_cycle": 0, "isolated": 0}
    chain = build(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d")])
    stats = graph_stats(chain)
    assert stats["longest_path"] == 3
    assert stats["condensed_cycles"] == stats["largest_cycle"] == stats["isolated"] == 0


def test_write_graphml_deterministic(tmp_path: Path) -> None:
    outputs = []
    for seed in (None, 5, 9):
        graph = build(NODES, EDGES, seed)
        graph.graph["name"] = "test"
        for node in graph:
            graph.nodes[node]["label"] = node.upper()
        for u, v in graph.edges:
            graph.edges[u, v]["weight"] = ord(u) + ord(v)
        path = tmp_path / f"g{seed}.graphml"
        write_graphml(graph, path)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    back = nx.read_graphml(tmp_path / "gNone.graphml")
    assert set(back.nodes) == set(NODES)
    assert set(back.edges) == set(EDGES)
    assert back.nodes["a"]["label"] == "A"
    assert back.edges["a", "b"]["weight"] == ord("a") + ord("b")


def test_graphml_reads_back_like_networkx_own_writer(tmp_path: Path) -> None:
    graph = nx.DiGraph(name="dag", description='quotes " and <tags> & more')
    graph.add_node("a", index=1, subject="fix <T> & 'x'", ratio=0.5, merge=True)
    graph.add_node("b", index=2, subject="ünïcode", ratio=1.0, merge=False)
    graph.add_node("c")
    graph.add_edge("a", "b", weight=3, symbols="crate|x crate|y")
    graph.add_edge("b", "c")
    ours = tmp_path / "ours.graphml"
    write_graphml(graph, ours)
    theirs = tmp_path / "theirs.graphml"
    nx.write_graphml(graph, theirs)
    a, b = nx.read_graphml(ours), nx.read_graphml(theirs)
    assert a.graph == b.graph
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True))
    assert {(u, v): d for u, v, d in a.edges(data=True)} == \
        {(u, v): d for u, v, d in b.edges(data=True)}
    assert a.nodes["a"]["merge"] is True and a.edges["a", "b"]["weight"] == 3
