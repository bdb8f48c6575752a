"""Which players are tied together by games: connected components of the game graph."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence


def components(nodes: Sequence[Hashable], edges: Iterable[tuple[Hashable, Hashable]],
               ) -> list[list[Hashable]]:
    """Connected components (union-find), each in the order of ``nodes``, ordered by their first
    node; a node in no edge is a component of its own."""
    parent = {n: n for n in nodes}

    def find(x: Hashable) -> Hashable:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    groups: dict[Hashable, list[Hashable]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return list(groups.values())
