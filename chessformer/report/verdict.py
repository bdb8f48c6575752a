"""Verdicts: is a model rated above the experts it learned from? (Pure: ratings in, words out.)

A *model line* is one model in one legality mode over the temperatures it played. Its verdict:

Pre-registered (the headline)
    The temperature is fixed before the games (the grid's ``verdict_temperature``, recorded in
    ``eval.json``; :data:`VERDICT_TEMPERATURE` = 0.001, the theory's prediction, when a grid
    names none). The model at that temperature minus the best-rated expert *of its own training
    data* that is connected to it by games in the fit, with a 95% interval from the same
    bootstrap resamples. Three words (:func:`verdict_word`): **transcends** (the interval is
    above 0), **does not transcend** (below 0), **not shown** (it includes 0). Simulated under
    the null at the demo's size (tests/test_verdict.py), the headline says "transcends" in at most
    5% of tournaments.
Head to head beside the fit
    The fit's difference is set beside the model's direct score against the reference (its 95%
    interval over colour-swapped pairs, :func:`chessformer.rating.counts.head_to_head`) and the
    Elo difference that score implies. A verdict in either direction needs both to agree in
    sign (the head-to-head point above 0.5 for "transcends", below for "does not transcend");
    otherwise, or with no games between the two, it is "not shown" and says why. Where the two
    intervals do not overlap, the headline says the fit and the games disagree.
Exploratory (apart from the headline)
    The best of the k temperatures, with a simultaneous interval: each temperature's difference
    at level 1 - 0.05 / k (Bonferroni), so picking the best after the games does not inflate the
    claim. Without the correction, "transcends" came out 8.7% of the time with 3 temperatures
    and 19.7% with 8 where the truth was 0.
Against the training cap
    Only when no training expert was rated: the cap is a Lichess rating, so the comparison needs
    a scale anchored on the paper's Elo (a calibrated Stockfish ladder); without one the verdict
    says it cannot be made, and why.

A player that won or lost every game is rated by the prior only: the verdict says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chessformer.core.protocol import VERDICT_TEMPERATURE
from chessformer.formats import dataset as dataset_format
from chessformer.rating.bootstrap import BootstrapFit, Rating
from chessformer.rating.counts import GameResult, elo_from_score, head_to_head
from chessformer.utils import log

#: The level of every verdict interval (the exploratory one is simultaneous at this level).
LEVEL = 0.95

TRANSCENDS, DOES_NOT, NOT_SHOWN = "transcends", "does not transcend", "not shown"


@dataclass
class ModelLine:
    """One curve of the plot: a model (label) in one legality mode over temperatures."""

    label: str
    legality: str
    cap: float | None
    points: list[tuple[float, str]]  # (temperature, player name), sorted by temperature
    run: str | None = None  # the training run's folder name, when the arena recorded it
    verdict_temperature: float = VERDICT_TEMPERATURE

    @property
    def name(self) -> str:
        return f"{self.label} ({self.legality})"

    def player_at(self, temperature: float) -> str | None:
        return next((p for t, p in self.points if abs(t - temperature) <= 1e-12), None)


def model_lines(players: dict[str, dict], rated: set[str], caps: dict[str, float],
                verdict_temperatures: Mapping[str, float] | None = None) -> list[ModelLine]:
    """The model lines of the rated model players; ``caps`` maps run names to training caps and
    ``verdict_temperatures`` players to their grid's pre-registered temperature."""
    groups: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    cap_of: dict[str, float | None] = {}
    run_of: dict[str, str] = {}
    for name, s in players.items():
        if s.get("kind") != "model" or name not in rated:
            continue
        label = str(s.get("label") or s.get("run") or "model")
        try:
            temp = float(s.get("temperature"))
        except (TypeError, ValueError):
            log.warning("model player %r has no temperature; left out of the plot", name)
            continue
        groups[(label, str(s.get("legality") or "masked"))].append((temp, name))
        run = Path(str(s["run"])).name if s.get("run") else None
        if run:
            run_of.setdefault(label, run)
        cap = s.get("cap")
        if cap is not None:
            cap_of[label] = float(cap)
        elif run in caps:
            cap_of.setdefault(label, caps[run])
    vt = verdict_temperatures or {}
    lines = []
    for (label, legality), pts in sorted(groups.items()):
        pts.sort()
        temps = {vt[p] for _, p in pts if p in vt}
        if len(temps) > 1:
            log.warning("%s (%s): evaluations fix different verdict temperatures %s; using %g",
                        label, legality, sorted(temps), min(temps))
        lines.append(ModelLine(label, legality, cap_of.get(label, caps.get(label)), pts,
                               run_of.get(label), min(temps) if temps else VERDICT_TEMPERATURE))
    return lines


def training_experts(rated: set[str], dataset: Path | None) -> list[str]:
    """The rated players named as White or Black in a dataset's ``games.csv`` (its experts)."""
    if dataset is None:
        return []
    trained: set[str] = set()
    for row in dataset_format.iter_game_rows(dataset):
        for side in ("white", "black"):
            if row.get(side) in rated:
                trained.add(row[side])
        if trained == rated:
            break
    return sorted(trained)


def verdict_word(lo: float, hi: float) -> str:
    """transcends (interval above 0), does not transcend (below 0), not shown (includes 0)."""
    return TRANSCENDS if lo > 0 else (DOES_NOT if hi < 0 else NOT_SHOWN)


def difference_text(word: str, diff: float, lo: float, hi: float, reference: str,
                    level: float = LEVEL, what: str = "CI") -> str:
    return (f"{word}: {diff:+.0f} Elo against {reference}, {100 * level:g}% {what} "
            f"[{lo:+.0f}, {hi:+.0f}]")


def _flags(ratings: Mapping[str, Rating], *players: str) -> str:
    prior = [p for p in players if ratings[p].prior_only]
    return (f" ({', '.join(prior)}: won or lost every game, rated by the prior only)"
            if prior else "")


@dataclass(frozen=True)
class Exploratory:
    """The best of a line's temperatures against the verdict's reference: a look, not a verdict
    (Bonferroni-simultaneous intervals over the ``k`` temperatures)."""

    temperature: float
    player: str
    diff: float
    lo: float
    hi: float
    word: str
    k: int
    level_each: float
    text: str


@dataclass(frozen=True)
class Verdict:
    """The verdict of one model line at its temperature fixed in advance.

    ``reference`` says which comparison was made: ``"expert"`` (the best rated expert of the
    model's training data), ``"cap"`` (the training Elo cap, on an anchored scale), or ``None``
    (no verdict: ``text`` says why, and ``word``, ``diff``, ``lo`` and ``hi`` are ``None``).
    The model's own rating (``player``, ``elo``...) is set whenever the temperature was played.
    """

    #: the model line: its label, legality, and ``"<label> (<legality>)"``
    model: str
    legality: str
    line: str
    #: the temperature fixed in advance, and how many the line played
    temperature: float
    n_temperatures: int
    #: the headline sentence
    text: str
    reference: str | None = None
    #: transcends, does not transcend, not shown (None without a verdict)
    word: str | None = None
    transcends: bool | None = None
    exploratory: Exploratory | None = None
    #: the model player at the fixed temperature and its rating with 95% interval
    player: str | None = None
    elo: float | None = None
    elo_lo: float | None = None
    elo_hi: float | None = None
    prior_only: bool | None = None
    #: what it was compared with, and the model-minus-reference difference with its interval
    reference_name: str | None = None
    reference_elo: float | None = None
    diff: float | None = None
    lo: float | None = None
    hi: float | None = None
    #: share of bootstrap resamples in which the model rates above the expert (experts only)
    p_superior: float | None = None
    #: why the training cap could not be the reference
    cap_blocked: str | None = None
    #: the model's games against the reference expert: count, score with its 95% interval,
    #: and the Elo differences the score and its bounds imply
    h2h_games: int | None = None
    h2h_score: float | None = None
    h2h_score_lo: float | None = None
    h2h_score_hi: float | None = None
    h2h_elo: float | None = None
    h2h_elo_lo: float | None = None
    h2h_elo_hi: float | None = None
    #: the head-to-head and fitted intervals do not overlap
    h2h_disagrees: bool | None = None
    #: why the verdict is exploratory (a choice fixed in advance was changed after the games)
    exploratory_reason: str | None = None


def exploratory(bf: BootstrapFit, line: ModelLine, reference: str, ref_words: str,
                level: float = LEVEL) -> Exploratory | None:
    """Best of the line's temperatures against ``reference``, Bonferroni-simultaneous."""
    k = len(line.points)
    if k < 2:
        return None
    each = 1.0 - (1.0 - level) / k
    diffs = [(bf.difference(p, reference, level=each), t, p) for t, p in line.points]
    d, t, p = max(diffs, key=lambda x: x[0].diff)
    word = verdict_word(d.lo, d.hi)
    text = (f"exploratory, best of {k} temperatures: T={t:g} "
            + difference_text(word, d.diff, d.lo, d.hi, ref_words, level,
                              f"simultaneous CI (Bonferroni, each at {100 * each:.1f}%)"))
    return Exploratory(temperature=t, player=p, diff=d.diff, lo=d.lo, hi=d.hi, word=word, k=k,
                       level_each=each, text=text)


def elo_words(x: float) -> str:
    return f"{x:+.0f}" if math.isfinite(x) else ("+inf" if x > 0 else "-inf")


def head_to_head_check(games: Sequence[GameResult], player: str, reference: str, word: str,
                       lo: float, hi: float) -> tuple[dict[str, Any], str, str]:
    """The head-to-head fields, the verdict word after the sign rule, and the words to append."""
    wdl, si = head_to_head(games, player, reference)
    n = sum(wdl)
    if n == 0:
        why = "" if word == NOT_SHOWN else (
            f" (the fit alone says {word}, but the model played no games against {reference}, "
            "so the head-to-head check cannot be made)")
        return {"h2h_games": 0}, NOT_SHOWN, f"; no head-to-head games with {reference}" + why
    e, e_lo, e_hi = elo_from_score(si.score), elo_from_score(si.lo), elo_from_score(si.hi)
    # A perfect (or zero) score has no finite Elo and a degenerate normal interval: it bounds
    # the difference on one side only, so it is not said to disagree with the fit.
    perfect = si.score in (0.0, 1.0)
    fields = dict(h2h_games=n, h2h_score=si.score, h2h_score_lo=si.lo, h2h_score_hi=si.hi,
                  h2h_elo=e, h2h_elo_lo=e_lo, h2h_elo_hi=e_hi,
                  h2h_disagrees=None if perfect else (e_hi < lo or e_lo > hi))
    text = (f"; head to head {si.score:.2f} [{si.lo:.2f}, {si.hi:.2f}] over {n} games "
            f"({wdl[0]}/{wdl[1]}/{wdl[2]}), " + (
                f"{'won' if si.score == 1.0 else 'lost'} every game (no finite Elo; no interval)"
                if perfect else
                f"{elo_words(e)} Elo [{elo_words(e_lo)}, {elo_words(e_hi)}]"))
    if fields["h2h_disagrees"]:
        text += ("; the fit and the head-to-head games disagree beyond both intervals: one "
                 "rating per player does not describe these games (see the goodness of fit)")
    if (word == TRANSCENDS and not si.score > 0.5) or (word == DOES_NOT and not si.score < 0.5):
        text += (f"; the fit says {word} but the head-to-head score is on the other side of "
                 "0.5, so the verdict is not shown")
        word = NOT_SHOWN
    return fields, word, text


def line_verdict(bf: BootstrapFit, ratings: Mapping[str, Rating], line: ModelLine,
                 experts: Sequence[str], cap_blocked: str | None,
                 games: Sequence[GameResult]) -> Verdict:
    """The verdict of one model line (see the module docstring).

    ``experts``: the rated experts of the line's training data connected to it by games;
    ``cap_blocked``: why a comparison with the training cap cannot be made (None: it can);
    ``games``: the rated games (for the head-to-head check).
    """
    t0 = line.verdict_temperature
    base: dict[str, Any] = {"model": line.label, "legality": line.legality, "line": line.name,
                            "temperature": t0, "n_temperatures": len(line.points)}
    player = line.player_at(t0)
    played = ", ".join(f"{t:g}" for t, _ in line.points)
    if player is None:
        return Verdict(**base, text=f"no verdict: the temperature fixed in advance, T={t0:g}, "
                       f"was not played (played: {played})")
    r = ratings[player]
    base.update(player=player, elo=r.elo, elo_lo=r.lo, elo_hi=r.hi, prior_only=r.prior_only)
    head = f"T={t0:g} (fixed in advance): "
    if experts:
        best = max(experts, key=lambda p: ratings[p].elo)
        d = bf.difference(player, best)
        e = ratings[best]
        ref_words = f"{best} ({e.elo:.0f})"
        compared = dict(reference="expert", reference_name=best, reference_elo=e.elo,
                        diff=d.diff, lo=d.lo, hi=d.hi, p_superior=bf.prob_superior(player, best),
                        exploratory=exploratory(bf, line, best, ref_words))
        flags = _flags(ratings, player, best)
    elif line.cap is None:
        return Verdict(**base, text=head + "no verdict: no expert of the model's training data "
                       "was rated in games connected to it, and the training cap is unknown")
    elif cap_blocked or r.unanchored:
        why = cap_blocked or "the model is not connected by games to any anchor"
        return Verdict(**base, cap_blocked=why, text=(
            head + f"no verdict against the training cap {line.cap:.0f}: no expert of the "
            f"model's training data was rated, and the cap (a Lichess rating) can only be "
            f"compared on an anchored Elo scale: {why}"))
    else:
        ref_words = f"the training cap {line.cap:.0f}"
        # The cap is a Lichess rating from another pool: a constant here, as in the paper.
        compared = dict(reference="cap", reference_name=f"training cap {line.cap:.0f}",
                        reference_elo=line.cap, diff=r.elo - line.cap, lo=r.lo - line.cap,
                        hi=r.hi - line.cap)
        flags = _flags(ratings, player)
    fit_word = verdict_word(compared["lo"], compared["hi"])
    word, h2h, h2h_words = fit_word, {}, ""
    if compared["reference"] == "expert":
        h2h, word, h2h_words = head_to_head_check(games, player, compared["reference_name"],
                                                  fit_word, compared["lo"], compared["hi"])
    text = head + difference_text(word, compared["diff"], compared["lo"], compared["hi"],
                                  ref_words, what="CI of the fit") + h2h_words + flags
    return Verdict(**base, **compared, **h2h, word=word, transcends=word == TRANSCENDS, text=text)


def compute_verdicts(bf: BootstrapFit, lines: Sequence[ModelLine],
                     experts: Mapping[str, Sequence[str]], cap_blocked: str | None = None, *,
                     games: Sequence[GameResult]) -> list[Verdict]:
    """One verdict per model line; ``experts`` maps a line's name to its reference experts."""
    ratings = {r.player: r for r in bf.ratings()}
    return [line_verdict(bf, ratings, line, experts.get(line.name, ()), cap_blocked, games)
            for line in lines]


def mark_exploratory(v: Verdict, reason: str) -> Verdict:
    """The verdict with a choice fixed in advance changed after the games: it is exploratory."""
    import dataclasses

    return dataclasses.replace(v, exploratory_reason=reason, transcends=False,
                               text=f"exploratory: {reason}: " + v.text)


def mark_not_shown(v: Verdict, reason: str) -> Verdict:
    """The verdict when its reference set is incomplete: not shown, with the reason."""
    import dataclasses

    return dataclasses.replace(v, word=NOT_SHOWN, transcends=False,
                               text=f"not shown: {reason} (the fit alone: {v.text})")
