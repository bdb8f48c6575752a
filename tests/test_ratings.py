"""Tests for chessformer.rating.elo: recovery of known ratings, anchors, prior, fishtest statistics,
Glicko-2 against published values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from chessformer.formats.games import EvalInfo, GameRecord
from chessformer.rating.anchors import PAPER_STOCKFISH_ELO
from chessformer.rating.bootstrap import bootstrap
from chessformer.rating.bradley_terry import CENTRE, fit_elo
from chessformer.rating.collect import collect_results
from chessformer.rating.counts import (
    PENTANOMIAL_SCORES,
    WDL_SCORES,
    Z95,
    GameResult,
    elo_from_score,
    pentanomial,
    score_from_elo,
    score_interval,
)
from chessformer.rating.glicko import Glicko2, glicko2_ratings, glicko2_update


def rate(games, anchors=None, **kw):
    return bootstrap(games, anchors, **kw).ratings()


def simulate(true: dict[str, float], games_per_pair: int, rng: np.random.Generator, *,
             draw_share: float = 0.3, davidson_nu: float | None = None,
             pairs_of: list[str] | None = None) -> list[GameResult]:
    """Round robin in colour-swapped pairs, drawn from known ratings.

    Default: P(draw) = draw_share * 2 min(p, 1 - p), wins/losses fill the rest so that White's
    expected score is exactly the logistic p (what the half-point fit assumes). With
    ``davidson_nu`` outcomes follow Davidson's model instead. ``pairs_of``: only pairs with one of
    these players play.
    """
    names = list(true)
    games = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if pairs_of is not None and a not in pairs_of and b not in pairs_of:
                continue
            for k in range(games_per_pair):
                w, bl = (a, b) if k % 2 == 0 else (b, a)
                d = true[w] - true[bl]
                if davidson_nu is None:
                    p = score_from_elo(d)
                    pd = draw_share * 2 * min(p, 1 - p)
                    pw = p - pd / 2
                else:
                    num_w, num_l = 10 ** (d / 800), 10 ** (-d / 800)
                    z = num_w + num_l + davidson_nu
                    pw, pd = num_w / z, davidson_nu / z
                u = rng.random()
                score = 1.0 if u < pw else (0.5 if u < pw + pd else 0.0)
                games.append(GameResult(w, bl, score, pair=(a, b, k // 2)))
    return games


TRUE = {"sf1": 1554.0, "sf3": 1867.0, "expert": 1400.0, "model_t1": 1300.0, "model_t01": 1650.0}
ANCHORS = {"sf1": 1554.0, "sf3": 1867.0}


def test_ratings_recovered_within_intervals_at_stated_rate():
    # 40 seeded repetitions x 3 free players. Check the 95% intervals cover the truth about 95% of
    # the time and 50% intervals about half the time (so the 95% ones are not just very wide).
    cover95 = cover50 = n = 0
    for rep in range(40):
        games = simulate(TRUE, 40, np.random.default_rng(1000 + rep))
        bf95 = bootstrap(games, ANCHORS, n_boot=200, seed=rep, level=0.95)
        bf50 = bootstrap(games, ANCHORS, n_boot=200, seed=rep, level=0.50)
        for r95, r50 in zip(bf95.ratings(), bf50.ratings()):
            if r95.anchor:
                continue
            n += 1
            cover95 += r95.lo <= TRUE[r95.player] <= r95.hi
            cover50 += r50.lo <= TRUE[r50.player] <= r50.hi
    assert n == 120
    assert 0.85 <= cover95 / n <= 1.0, cover95 / n  # measured 0.90 here
    assert 0.35 <= cover50 / n <= 0.65, cover50 / n


def test_point_estimates_close_with_many_games():
    games = simulate(TRUE, 800, np.random.default_rng(7))
    fit = fit_elo(games, ANCHORS)
    for p, r in TRUE.items():
        assert abs(fit.ratings[p] - r) < 25, (p, fit.ratings[p], r)


def test_davidson_model_recovers_ratings_and_draw_parameter():
    games = simulate(TRUE, 800, np.random.default_rng(8), davidson_nu=0.8)
    fit = fit_elo(games, ANCHORS, draw_model="davidson")
    assert fit.draw_nu == pytest.approx(0.8, abs=0.08)
    for p, r in TRUE.items():
        assert abs(fit.ratings[p] - r) < 30, (p, fit.ratings[p], r)


def test_anchors_held_exactly_and_zero_width():
    games = simulate(TRUE, 20, np.random.default_rng(3))
    ratings = {r.player: r for r in rate(games, ANCHORS, n_boot=50, seed=1)}
    for p, v in ANCHORS.items():
        assert ratings[p].elo == v and ratings[p].lo == v and ratings[p].hi == v
        assert ratings[p].anchor
    assert not ratings["expert"].anchor
    assert ratings["expert"].lo < ratings["expert"].elo < ratings["expert"].hi


def test_without_anchors_the_mean_is_the_centre_and_differences_match_anchored_fit():
    games = simulate(TRUE, 30, np.random.default_rng(4))
    free = fit_elo(games)
    anchored = fit_elo(games, {"sf1": 1554.0})
    assert np.mean(list(free.ratings.values())) == pytest.approx(CENTRE)
    assert free.unanchored == frozenset(TRUE)
    d_free = free.ratings["model_t01"] - free.ratings["expert"]
    d_anch = anchored.ratings["model_t01"] - anchored.ratings["expert"]
    assert d_free == pytest.approx(d_anch, abs=1e-6)


def test_perfect_score_is_finite_and_follows_virtual_draw_prior():
    games = [GameResult("a", "b", 1.0), GameResult("b", "a", 0.0)] * 50  # a wins all 100
    fit = fit_elo(games, {"b": 1000.0})
    # One virtual draw: a scores 100.5 / 101.
    assert fit.ratings["a"] == pytest.approx(1000.0 + elo_from_score(100.5 / 101), abs=1e-6)
    r = {x.player: x for x in rate(games, {"b": 1000.0}, n_boot=30)}
    assert math.isfinite(r["a"].hi) and r["a"].wins == 100 and r["a"].score == 1.0


def test_prior_does_not_pull_a_weak_player_up():
    # A model truly at 1000 plays 100 games against each of the paper's five Stockfish anchors
    # (1554..2148): it scores about 1.3%, and one fit's standard deviation is about 66 Elo.
    # Averaged over 1000 seeded repetitions (standard error of the mean about 2), the fitted
    # rating must be within 10 Elo of the truth (measured: -0.4 over 2000). One virtual draw per
    # pair pulled it up by about 50.
    anchors = {f"sf{k}": elo for k, elo in PAPER_STOCKFISH_ELO.items()}
    rng = np.random.default_rng(2024)
    fitted, fitted_draws = [], []
    for rep in range(1000):
        games = simulate({"model": 1000.0, **anchors}, 100, rng, pairs_of=["model"])
        fitted.append(fit_elo(games, anchors).ratings["model"])
        if rep < 300:
            fitted_draws.append(fit_elo(games, anchors, prior="draws").ratings["model"])
    assert abs(np.mean(fitted) - 1000.0) < 10.0, np.mean(fitted)
    assert np.mean(fitted_draws) - 1000.0 > 25.0  # the virtual-draw prior's bias, for contrast


def test_a_player_left_out_of_a_resample_stays_near_its_opponents():
    # "m" played one pair of games: about a third of the resamples hold none of them. The prior
    # is the same function in every resample (it follows the original pairs), so the fit stays
    # well posed there: "m" is held near its opponent by the prior, and "w", who lost all its 8
    # games (no finite maximum-likelihood rating), stays where the prior puts it instead of
    # drifting thousands of Elo away.
    games = simulate({"sf1": 1554.0, "sf3": 1867.0, "x": 1700.0}, 40, np.random.default_rng(8))
    games += [GameResult("m", "x", 0.0, pair=("m", 0)), GameResult("x", "m", 1.0, pair=("m", 0))]
    games += [GameResult(*(("w", "sf1") if k % 2 == 0 else ("sf1", "w")),
                         0.0 if k % 2 == 0 else 1.0, pair=("w", k // 2)) for k in range(8)]
    bf = bootstrap(games, ANCHORS, n_boot=200, seed=0)
    for p, near in (("m", 1700.0), ("w", 1554.0)):
        col = bf.samples[:, bf.players.index(p)]
        assert np.isfinite(col).all() and np.abs(col - near).max() < 1200.0, (p, col.min())
    r = {x.player: x for x in bf.ratings()}
    assert r["m"].prior_only and r["w"].prior_only and r["w"].lo < r["w"].elo < 1554.0


def test_half_point_fit_matches_score_for_two_players():
    # 30 W, 40 D, 30 L: 50% -> equal ratings; 60 W 20 D 20 L -> elo_from_score with prior.
    games = ([GameResult("x", "y", 1.0)] * 60 + [GameResult("x", "y", 0.5)] * 20
             + [GameResult("y", "x", 1.0)] * 20)
    fit = fit_elo(games, {"y": 0.0}, prior="draws", virtual_draws=0.0)
    assert fit.ratings["x"] == pytest.approx(elo_from_score(0.7), abs=1e-6)


def test_difference_uses_same_resamples_and_is_seeded():
    games = simulate(TRUE, 30, np.random.default_rng(5))
    bf = bootstrap(games, ANCHORS, n_boot=200, seed=11)
    d = bf.difference("model_t01", "expert")
    assert d.diff == pytest.approx(bf.fit.ratings["model_t01"] - bf.fit.ratings["expert"])
    assert d.lo < d.diff < d.hi
    again = bootstrap(games, ANCHORS, n_boot=200, seed=11).difference("model_t01", "expert")
    assert tuple(again) == pytest.approx(tuple(d))
    # The paired interval is narrower than the difference of the two marginal intervals.
    r = {x.player: x for x in bf.ratings()}
    assert d.hi - d.lo < (r["model_t01"].hi - r["expert"].lo) - (r["model_t01"].lo - r["expert"].hi)
    assert 0.5 < bf.prob_superior("model_t01", "expert") <= 1.0


def test_pair_bootstrap_groups_pairs():
    games = simulate(TRUE, 30, np.random.default_rng(6))
    by_pair = bootstrap(games, ANCHORS, n_boot=100, seed=0, by_pair=True)
    by_game = bootstrap(games, ANCHORS, n_boot=100, seed=0, by_pair=False)
    assert by_pair.fit.ratings == by_game.fit.ratings
    assert not np.allclose(by_pair.samples, by_game.samples)


def _record(index: int, pair: int, white: str, black: str, result: str) -> GameRecord:
    players = {"m": {"kind": "model", "temperature": 0.3}, "s": {"kind": "stockfish"}}
    return GameRecord(id=f"g{index:06d}", index=index, cell="c", pair=pair, white=white,
                      black=black, result=result, termination="checkmate", plies=2, seed=0,
                      opening=[], players={"white": players[white], "black": players[black]},
                      illegal={"white": 0, "black": 0}, model_moves={"white": 1, "black": 0},
                      moves=["e2e4", "e7e5"], time_s=0.1)


def test_collect_results_counts_unfinished_and_pairs(tmp_path):
    from chessformer.formats.games import write_eval_info, write_results

    recs = [_record(0, 0, "m", "s", "1-0"), _record(1, 0, "s", "m", "1/2-1/2"),
            _record(2, 1, "m", "s", "*")]
    write_results(tmp_path, recs)
    write_eval_info(tmp_path, EvalInfo(
        grid="x", grid_file=None, grid_settings={}, model_run=None, label="m",
        stockfish={"path": "stockfish", "version": "15.1"}, ladder=None, anchors={"s": 1500.0},
        seed=0, shard="0/1", games=3, command="chessformer eval-vs-stockfish", code_version="0",
        started="2026-01-01T00:00:00+00:00"))
    with open(tmp_path / "games.jsonl", "a") as f:
        f.write('{"id": "torn')  # a killed writer's last line
    res = collect_results([tmp_path])
    assert [g.score for g in res.games] == [1.0, 0.5]
    assert res.games[0].pair == res.games[1].pair
    assert res.unfinished == 1 and res.finished == 2 and len(res.records) == 3
    assert res.players["m"]["temperature"] == 0.3
    assert res.evals[tmp_path].anchors == {"s": 1500.0}


def test_ladder_file_is_a_typed_record(tmp_path):
    """The shipped ladder reads into a CalibratedLadder and writes back the same bytes; its
    anchors are rungs held at their paper Elo; a file with a rung that lacks its Elo is a
    one-line error naming the file and the rung."""
    from chessformer.formats import ladder as ladder_format
    from chessformer.formats.records import RecordError

    shipped = ladder_format.find_ladder("15.1")
    if shipped is None:
        pytest.skip("no shipped ladder for Stockfish 15.1")
    ladder = ladder_format.read_ladder(shipped)
    ladder_format.write_ladder(tmp_path / "copy.json", ladder)
    assert (tmp_path / "copy.json").read_bytes() == shipped.read_bytes()
    elos = ladder_format.load_ladder(shipped)
    assert all(elos[name] == elo for name, elo in ladder.anchors.items())
    raw = json.loads(shipped.read_text())
    del raw["rungs"][1]["elo"]
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(RecordError, match=r"bad.json: rungs\[1\]: LadderRung has no field 'elo'"):
        ladder_format.read_ladder(tmp_path / "bad.json")


# --- fishtest-style statistics, against values computed by hand --------------------------------

def test_trinomial_score_interval_hand_values():
    # 50 W, 30 D, 20 L: mu = 0.65, var = (.5*.35^2 + .3*.15^2 + .2*.65^2) = 0.1525,
    # se = sqrt(0.1525/100) = 0.0390512; elo = 400 log10(0.65 / 0.35) = 107.5381.
    r = score_interval(WDL_SCORES, (50, 30, 20))
    assert r.score == pytest.approx(0.65)
    assert r.lo == pytest.approx(0.65 - 1.959964 * 0.0390512, abs=1e-6)
    assert r.hi == pytest.approx(0.65 + 1.959964 * 0.0390512, abs=1e-6)
    assert elo_from_score(r.score) == pytest.approx(107.5381, abs=1e-3)
    assert all(math.isnan(x) for x in score_interval(WDL_SCORES, (0, 0, 0)))  # no games


def test_pentanomial_score_interval_hand_values():
    # counts LL, LD, DD/WL, WD, WW = 10, 20, 40, 20, 10: symmetric -> 0.5, 0 Elo.
    r = score_interval(PENTANOMIAL_SCORES, [10, 20, 40, 20, 10])
    assert r.score == pytest.approx(0.5) and elo_from_score(r.score) == pytest.approx(0.0, abs=1e-9)
    # 0, 10, 50, 30, 10 (100 pairs): mu = (10*.25 + 50*.5 + 30*.75 + 10*1)/100 = 0.6;
    # var = (10*.35^2 + 50*.1^2 + 30*.15^2 + 10*.4^2)/100 = 0.04;
    # se = sqrt(0.04/100) = 0.02; elo(0.6) = 70.4365.
    r = score_interval(PENTANOMIAL_SCORES, [0, 10, 50, 30, 10])
    assert elo_from_score(r.score) == pytest.approx(70.4365, abs=1e-3)
    assert r.hi == pytest.approx(0.6 + 1.959964 * 0.02, abs=1e-9)
    # Clipped to [0, 1]: a perfect record has a zero-width interval at 1.
    assert score_interval(PENTANOMIAL_SCORES, [0, 0, 0, 0, 7]) == (1.0, 1.0, 1.0)


def test_pentanomial_counts_from_games():
    g = GameResult
    games = [g("m", "s", 1.0, 1), g("s", "m", 0.0, 1),   # WW
             g("m", "s", 1.0, 2), g("s", "m", 1.0, 2),   # WL -> DD/WL
             g("m", "s", 0.5, 3), g("s", "m", 1.0, 3),   # DL -> LD
             g("m", "s", 0.0, 4), g("s", "m", 1.0, 4),   # LL
             g("m", "s", 0.5, 5), g("s", "m", 0.0, 5),   # DW -> WD
             g("m", "s", 1.0, 6)]                          # unpaired: ignored
    assert pentanomial(games, "m") == [1, 1, 1, 1, 1]
    assert pentanomial(games, "s") == [1, 1, 1, 1, 1]


# --- Glicko-2 ---------------------------------------------------------------------------------

def test_glicko2_glickman_worked_example():
    # Glickman, "Example of the Glicko-2 system" (glicko.net/glicko/glicko2.pdf, 2012): a 1500 /
    # 200 / 0.06 player, tau 0.5, beats 1400/30, loses to 1550/100 and 1700/300 ->
    # 1464.06, 151.52, 0.05999 (the paper rounds intermediate values; exact arithmetic gives
    # 1464.05).
    r = glicko2_update(Glicko2(1500, 200, 0.06), [(1400, 30, 1), (1550, 100, 0), (1700, 300, 0)],
                       tau=0.5)
    assert r.rating == pytest.approx(1464.06, abs=0.02)
    assert r.rd == pytest.approx(151.52, abs=0.01)
    assert r.volatility == pytest.approx(0.05999, abs=1e-5)


@pytest.mark.parametrize("white,black,score,expect_w,expect_b", [
    # lichess-org/lila, modules/rating/src/test/RatingCalculatorTest.scala: lichess's Glicko-2
    # (tau 0.75, no pre-period RD increase: updateRatings(results, skipDeviationIncrease = true)),
    # defaults 1500 / 500 / 0.09. Tolerances are the test's own.
    ((1500, 500, 0.09), (1500, 500, 0.09), 1.0, (1741, 396, 0.0899983, 1, 1, 1e-7),
     (1258, 396, 0.0899983, 1, 1, 1e-7)),
    ((1500, 500, 0.09), (1500, 500, 0.09), 0.5, (1500, 396, 0.0899954, 1, 1, 1e-7),
     (1500, 396, 0.0899954, 1, 1, 1e-7)),
    ((1500, 80, 0.06), (1500, 80, 0.06), 1.0, (1517, 78, 0.06, 1, 1, 1e-5),
     (1482, 78, 0.06, 1, 1, 1e-5)),
    ((1400, 79, 0.06), (1550, 110, 0.065), 1.0, (1422, 77, 0.06, 1, 1, 1e-5),
     (1506, 105, 0.065, 1, 1, 1e-5)),
    ((1400, 79, 0.06), (1550, 110, 0.065), 0.0, (1389, 78, 0.06, 1, 1, 1e-5),
     (1568, 105, 0.065, 1, 1, 1e-5)),
    ((1400, 79, 0.06), (1550, 110, 0.065), 0.5, (1406, 78, 0.06, 1, 1, 1e-5),
     (1537, 105.87, 0.065, 1, 0.01, 1e-5)),
    ((1200, 60, 0.053), (1850, 200, 0.062), 1.0, (1216.7, 59.9, 0.053013, 0.1, 0.1, 1e-6),
     (1636, 196.9, 0.062028, 0.1, 0.1, 1e-6)),
    ((1200, 60, 0.053), (1850, 200, 0.062), 0.0, (1199.3, 59.9, 0.052999, 0.1, 0.1, 1e-6),
     (1855.4, 196.9, 0.061999, 0.1, 0.1, 1e-6)),
    ((1200, 60, 0.053), (1850, 200, 0.062), 0.5, (1208.0, 59.90056, 0.053002, 0.1, 0.1, 1e-6),
     (1745.7, 196.98729, 0.062006, 0.1, 0.1, 1e-6)),
])
def test_glicko2_lichess_values(white, black, score, expect_w, expect_b):
    w, b = Glicko2(*white), Glicko2(*black)
    new_w = glicko2_update(w, [(b.rating, b.rd, score)], tau=0.75, elapsed_periods=0)
    new_b = glicko2_update(b, [(w.rating, w.rd, 1 - score)], tau=0.75, elapsed_periods=0)
    for got, (r, rd, vol, tol_r, tol_rd, tol_v) in ((new_w, expect_w), (new_b, expect_b)):
        assert got.rating == pytest.approx(r, abs=tol_r)
        assert got.rd == pytest.approx(rd, abs=tol_rd)
        assert got.volatility == pytest.approx(vol, abs=tol_v)


def test_glicko2_ratings_do_not_depend_on_the_order_of_the_games():
    rng = np.random.default_rng(4)
    games = simulate({"sf1": 1554.0, "sf3": 1867.0, "m": 1700.0, "x": 1500.0}, 40, rng)
    fixed = {"sf1": 1554.0, "sf3": 1867.0}
    forward = glicko2_ratings(games, fixed)
    backward = glicko2_ratings(games[::-1], fixed)
    shuffled = glicko2_ratings([games[k] for k in rng.permutation(len(games))], fixed)
    assert set(forward) == {"m", "x"}  # the fixed players get no Glicko-2 of their own
    assert forward == backward == shuffled
    # "m" scored above 50% against the two anchors on average: near its truth
    assert abs(forward["m"].rating - 1700.0) < 80 and forward["m"].rd < 80
    assert abs(forward["m"].rating - 1700.0) < Z95 * forward["m"].rd  # inside its 95% interval
    assert 0 < forward["m"].spread < forward["m"].rd  # the order moves it, less than its RD


def test_glicko2_of_a_50_percent_score_lands_on_the_opponent():
    games = [GameResult("m", "sf1", 1.0), GameResult("sf1", "m", 1.0)] * 100
    r = glicko2_ratings(games, {"sf1": 1554.0}, orders=32)["m"]
    # the mean of 32 orders: within 3 standard errors of the opponent's rating
    assert abs(r.rating - 1554.0) < 3 * r.spread / math.sqrt(32) and r.rd < 80


def test_glicko2_against_a_far_anchor_stays_sensible():
    """One rating period from 1500 against an opponent far below gave -6833 for a player that
    won 95% of its games; game by game it lands near the rating that score implies."""
    games = [GameResult("m", "random", 1.0)] * 76 + [GameResult("random", "m", 1.0)] * 4
    r = glicko2_ratings(games, {"random": 0.0})["m"]
    implied = 400 * math.log10(0.95 / 0.05)  # 512 above the opponent
    assert abs(r.rating - implied) < 150, r
