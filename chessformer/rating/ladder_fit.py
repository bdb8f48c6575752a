"""The pure statistics of a ladder's calibration: is every rung tied to an anchor, each pair's
score, where each anchor lands when it is left out, and the scale one anchor alone gives.

The calibration itself (the ladder TOML, the games, the ladder file) is
:mod:`chessformer.experiments.calibrate`; these functions take game results and anchors only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chessformer.formats.ladder import AnchorCheck, FittedRating, PairScore, SingleAnchorFit
from chessformer.rating.bootstrap import bootstrap
from chessformer.rating.counts import GameResult
from chessformer.rating.graph import components
from chessformer.utils import UserError

__all__ = ["N_BOOT_CHECK", "anchor_check", "anchor_misfits", "anchor_verdict", "check_connected",
           "misfit_words", "pair_scores",
           "single_anchor_fit"]

#: Bootstrap resamples for the (cheaper) leave-one-anchor-out check.
N_BOOT_CHECK = 200


def check_connected(names: Sequence[str], anchors: Mapping[str, float],
                    edges: Sequence[tuple[str, str]], where: str = "ladder") -> None:
    """Refuse a ladder whose rungs are not all tied by games to an anchor (named in the error)."""
    if not anchors:
        raise UserError(f"{where}: no anchor: give at least one rung an anchor rating (the default "
                        "ladder holds the paper's Skill Level 1/3/5 at 0.1 s)")
    loose = sorted(n for g in components(names, edges) if not set(g) & set(anchors) for n in g)
    if loose:
        raise UserError(f"{where}: the pairs that play do not connect these rungs to any anchor, "
                        f"so their ratings would be undefined: {', '.join(loose)}; raise span or "
                        "add [[pair]] entries linking them to the rest")


def pair_scores(games: Sequence[GameResult]) -> list[PairScore]:
    """Per pair of players: games and the first-named player's points (names sorted)."""
    acc: dict[tuple[str, str], list[float]] = {}
    for g in games:
        a, b = sorted((g.white, g.black))
        pts = g.score if g.white == a else 1.0 - g.score
        acc.setdefault((a, b), [0.0, 0.0])
        acc[(a, b)][0] += pts
        acc[(a, b)][1] += 1
    return [PairScore(a=a, b=b, games=int(n), a_points=p, a_score=round(p / n, 4))
            for (a, b), (p, n) in acc.items()]


def anchor_check(games: Sequence[GameResult], anchors: Mapping[str, float], *,
                 n_boot: int = N_BOOT_CHECK, seed: int = 0) -> list[AnchorCheck]:
    """Leave each anchor out in turn: where do the games put it when the others hold the scale?"""
    out: list[AnchorCheck] = []
    if len(anchors) < 2:
        return out
    for name, elo in anchors.items():
        rest = {k: v for k, v in anchors.items() if k != name}
        bf = bootstrap(games, rest, n_boot=n_boot, seed=seed)
        if name in bf.players and name not in bf.fit.unanchored:
            r = next(r for r in bf.ratings() if r.player == name)
            out.append(AnchorCheck(name=name, paper=elo, fitted=round(r.elo, 1),
                                   lo=round(r.lo, 1), hi=round(r.hi, 1)))
        else:
            out.append(AnchorCheck(name=name, paper=elo, fitted=None, lo=None, hi=None))
    return out


def anchor_verdict(check: Sequence[AnchorCheck]) -> str:
    """A sentence for the notes: do the games agree with the anchors' spacing?"""
    off = [c for c in check if c.fitted is not None and c.lo is not None and c.hi is not None
           and not c.lo <= c.paper <= c.hi]
    if not check:
        return ""
    if not off:
        return ("Anchor check: every anchor's paper rating lies inside the 95% interval the games "
                "give it when it is left out.")
    parts = [f"{c.name} paper {c.paper:.0f}, games {c.fitted:.0f} [{c.lo:.0f}, {c.hi:.0f}]"
             for c in off]
    return ("Anchor check: the games disagree with the paper's spacing of the anchors ("
            + "; ".join(parts) + "), so holding all of them fixed distorts the rungs between "
            "them; 'single_anchor_fit' gives the scale held by one anchor only.")


def single_anchor_fit(games: Sequence[GameResult], anchors: Mapping[str, float], *,
                      n_boot: int = N_BOOT_CHECK, seed: int = 0) -> SingleAnchorFit | None:
    """Every rating with only the middle anchor held: the scale the games themselves give."""
    if len(anchors) < 2:
        return None
    name = sorted(anchors, key=anchors.__getitem__)[(len(anchors) - 1) // 2]
    bf = bootstrap(games, {name: anchors[name]}, n_boot=n_boot, seed=seed)
    return SingleAnchorFit(anchor=name, elo=anchors[name], bootstrap=n_boot, rungs=[
        FittedRating(name=r.player, elo=round(r.elo, 1), lo=round(r.lo, 1), hi=round(r.hi, 1))
        for r in sorted(bf.ratings(), key=lambda r: r.elo)])


def anchor_misfits(check: Sequence[AnchorCheck]) -> list[AnchorCheck]:
    """The anchors whose stated (paper) rating lies outside the interval the games give them when
    they are left out, or that the games cannot place at all."""
    return [c for c in check if c.fitted is None or c.lo is None or c.hi is None
            or not c.lo <= c.paper <= c.hi]


def misfit_words(check: Sequence[AnchorCheck]) -> str:
    """The failed anchors in words: ``name: paper P, games F [lo, hi]; ...``."""
    return "; ".join(
        f"{c.name}: paper {c.paper:.0f}, " + ("the games cannot place it" if c.fitted is None
                                              else f"games {c.fitted:.0f} [{c.lo:.0f}, {c.hi:.0f}]")
        for c in anchor_misfits(check))
