"""What the scores mean: each metric's direction, the report's rows (a run with one sampler), the best row per
metric, mean ± std per model and sampler, and the verdict the report opens with."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vaegan.evaluation.curves import Curve, sampler_curve
from vaegan.evaluation.score_table import ASPECT_METRICS, METRICS, VERDICT_METRICS, Metric, badness, shown_metrics
from vaegan.evaluation.scoring import RunResult
from vaegan.latent_sampler import SAMPLERS
from vaegan.methods import METHODS, label

# A mean gap of 2 pooled standard deviations between two groups of seeds is what seed noise rarely makes.
SEPARATED_AT = 2.0
# The fewest steps at which a method's scores are worth ranking (Method.fair_steps). The main job's plan warns before
# training (vaegan.budget_plan); the verdict refuses to rank a run scored below it.
FAIR_STEPS = {name: m.fair_steps for name, m in METHODS.items() if m.fair_steps}
# The verdict's pair: the method judged against another (the hybrid against the VAE), then that other.
PAIR = next((name, m.judged_against) for name, m in METHODS.items() if m.judged_against)
# FID (per extractor family, the id before "-") above which a run's best sampler has not learnt the data: an untrained
# decoder's checkerboard noise scores ~1,700 on the domain features, the shortest trained runs measured (0.7 min, 235
# VAE-GAN steps; benchmarks/budgets/) 375-720. Other extractors have no threshold: their scale differs.
NOT_LEARNED_FID = {"domain": 1000.0}


def kind_label(kind: str) -> str:
    """"VAE-GAN" for "vaegan"; a model with another decoder (RunResult.model) "VAE-GAN (CPPN)" for "vaegan:cppn"."""
    method, _, decoder = kind.partition(":")
    return label(method) + (f" ({decoder.upper()})" if decoder else "")


def row_label(kind: str, sampler: str | None) -> str:
    """"VAE-GAN · GMM", or just the model where nothing was sampled."""
    return kind_label(kind) if sampler is None else f"{kind_label(kind)} · {SAMPLERS[sampler].label}"


def run_labels(results: list[RunResult]) -> list[str]:
    """Short names for legends and captions: "VAE s0", or the folder name where that would be ambiguous."""
    short = [f"{kind_label(r.model)} s{r.seed}" for r in results]
    return [label if short.count(label) == 1 else r.name for label, r in zip(short, results)]


@dataclass(frozen=True)
class Row:
    """One line of the report: a run with one sampler, its samples' scores beside the run's reconstruction scores."""

    run: RunResult
    sampler: str | None  # a name in SAMPLERS; None for a run with nothing scored
    scores: dict  # {} when nothing was scored

    @property
    def label(self) -> str:
        return row_label(self.run.model, self.sampler)

    @property
    def curve(self) -> Curve | None:
        """FID during training of what this row scores (see curves.sampler_curve)."""
        return sampler_curve(self.run.curves, self.sampler)

    @property
    def counts(self) -> bool:
        """Whether its scores enter best values, means and the verdict: scored, and not a diverged run."""
        return bool(self.scores) and not self.run.diverged


def score_rows(results: list[RunResult]) -> list[Row]:
    """A row per run and sampler, in run order; one row for a run with nothing scored."""
    rows = []
    for r in results:
        if r.scores is None:
            rows.append(Row(r, None, {}))
        else:
            rows += [Row(r, name, {**r.scores, **scores}) for name, scores in r.sample_scores.items()]
    return rows


def best_rows(rows: list[Row]) -> dict[str, set[int]]:
    """{metric key: indices of the rows with the best value} over rows that count (ties share), leaving out the runs
    unjudged() names: the best sharpness of noise is nothing to highlight."""
    best: dict[str, set[int]] = {}
    flagged = unjudged(rows)
    for m in METRICS:
        values = {i: badness(m, row.scores[m.key]) for i, row in enumerate(rows)
                  if row.counts and id(row.run) not in flagged and _finite(row.scores.get(m.key))}
        if values:
            low = min(values.values())
            best[m.key] = {i for i, v in values.items() if v == low}
    return best


def summarize(rows: list[Row]) -> dict[str, dict]:
    """{kind: {"runs": n scored, "seeds": [...], "diverged": n, "samplers": {sampler: {metric key: {"mean", "std",
    "n"}}}}}, kinds and samplers in order of first appearance. std is the sample standard deviation (ddof=1) over
    seeds, 0.0 for a single run."""
    out: dict[str, dict] = {}
    for kind in dict.fromkeys(row.run.model for row in rows):
        runs = list({id(row.run): row.run for row in rows if row.run.model == kind}.values())
        scored = [r for r in runs if r.scores is not None and not r.diverged]
        entry: dict = {"runs": len(scored), "seeds": [r.seed for r in scored],
                       "diverged": sum(r.diverged for r in runs), "samplers": {}}
        for sampler in dict.fromkeys(row.sampler for row in rows if row.run.model == kind and row.counts):
            stats = {}
            for m in METRICS:
                values = np.array([row.scores[m.key] for row in rows if row.run.model == kind and row.sampler == sampler
                                   and row.counts and _finite(row.scores.get(m.key))], dtype=np.float64)
                if values.size:
                    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
                    stats[m.key] = {"mean": float(values.mean()), "std": std, "n": int(values.size)}
            entry["samplers"][sampler] = stats
        out[kind] = entry
    return out


def unjudged(rows: list[Row]) -> dict[int, str]:
    """{id(run): why its scores cannot be ranked} for the counted runs that made fewer steps than FAIR_STEPS of their
    method, or whose best FID over the samplers is above NOT_LEARNED_FID of its extractor (the samples are noise,
    whatever their sharpness); runs not named are fine."""
    out: dict[int, str] = {}
    for run in _runs([row for row in rows if row.counts]):
        reasons = []
        needed = FAIR_STEPS.get(run.kind)
        if needed is not None and run.step is not None and run.step < needed:
            reasons.append(f"made {run.step:,} steps, fewer than the ~{needed:,} a {kind_label(run.kind)} needs")
        fids = [(row.scores["fid"], row.scores.get("extractor", "")) for row in rows
                if row.run is run and row.counts and _finite(row.scores.get("fid"))]
        if fids:
            fid, extractor = min(fids)
            limit = NOT_LEARNED_FID.get(extractor.split("-")[0])
            if limit is not None and fid > limit:
                reasons.append(f"draws noise, not the data (best FID {fid:,.0f}, above {limit:,.0f})")
        if reasons:
            out[id(run)] = ", and ".join(reasons)
    return out


def headline(rows: list[Row]) -> str:
    """The report's first line, one sentence: "At 4 min each: with GMM samples the VAE-GAN is better on FID, KID and
    sharpness (details below)."; "…: too short to judge, no model is ranked: VAE-GAN s0 made 132 steps, …" when
    unjudged() names a run, since a ranking of noise praises nothing; the verdict's first sentence where there is no
    VAE-GAN and VAE pair to compare."""
    counted = [row for row in rows if row.counts]
    if not counted:
        return verdict(rows)
    flagged = unjudged(rows)
    if flagged:
        labels = dict(zip((id(r) for r in _runs(counted)), run_labels(_runs(counted))))
        return (f"{_budget(counted)}: too short to judge, no model is ranked: "
                + "; ".join(f"{labels[key]} {why}" for key, why in flagged.items()) + ".")
    values = _values_by_group(counted)
    samplers = _pair_samplers(values, counted)
    if samplers:
        return f"{_budget(counted)}: {_compare_sentence(values, samplers[0], first=True, short=True)}"
    return f"{_budget(counted)}: {_verdict_sentences(rows)[0]}"


def _runs(rows: list[Row]) -> list[RunResult]:
    """The distinct runs of the rows, in order."""
    return list({id(row.run): row.run for row in rows}.values())


def _pair_samplers(values: dict, counted: list[Row]) -> list[str]:
    """The samplers with both VAE-GAN and VAE scores, the one with the lowest FID of either first."""
    pair = PAIR
    samplers = [s for s in dict.fromkeys(row.sampler for row in counted) if all((k, s) in values for k in pair)]
    # A stable sort: ties keep the evaluation's order.
    samplers.sort(key=lambda s: min((np.mean(v) for k in pair if (v := values[(k, s)]["fid"])), default=math.inf))
    return samplers


def verdict(rows: list[Row]) -> str:
    """The verdict in full, under the report's headline: at the runs' budget, which of VAE-GAN and VAE is better on
    FID, KID and sharpness, by what factor, and (with several seeds) whether the gap stands out of the spread across
    seeds; per sampler, the sampler that gives the lowest FID first. With other methods too (e.g. Soft-IntroVAE),
    every method ranked on each metric per sampler. Reports with a single method get its numbers instead, and so do
    reports with a run unjudged() names: numbers for the record, nobody ranked."""
    counted = [row for row in rows if row.counts]
    if not counted:
        return "No run trained without diverging: " + "; ".join(f"{row.run.name}: {row.run.note}" for row in rows) + "."
    return f"{_budget(counted)}: " + " ".join(_verdict_sentences(rows))


def _verdict_sentences(rows: list[Row]) -> list[str]:
    """verdict's sentences after the budget, for rows of which some count."""
    counted = [row for row in rows if row.counts]
    values = _values_by_group(counted)
    pair = PAIR
    kinds = list(dict.fromkeys(kind for kind, _ in values))
    if unjudged(rows):  # a ranking would praise runs that have not learnt
        return [_describe_group(values, kind, sampler) for kind, sampler in values] + [
            "Numbers for the record only: train longer before comparing (each run's reason is in the line above)."]
    samplers = _pair_samplers(values, counted)
    if samplers:
        sentences = [_compare_sentence(values, s, first=i == 0) for i, s in enumerate(samplers)]
    elif len(kinds) == 1:
        sentences = [_describe_group(values, kind, sampler) for kind, sampler in values]
    else:
        sentences = []
    if len(kinds) > 2 or (len(kinds) == 2 and not samplers):
        ranked = list(dict.fromkeys(sampler for _, sampler in values))
        ranked.sort(key=lambda s: min((np.mean(g["fid"]) for (_, s2), g in values.items() if s2 == s and g["fid"]),
                                      default=math.inf))  # as _pair_samplers: the sampler with the lowest FID first
        sentences += [_ranking_sentence(values, s) for s in ranked]
    if samplers and all(len({row.run.seed for row in counted if row.run.model == k}) == 1 for k in pair):
        sentences.append("One seed per model, so whether the gaps exceed seed noise is unknown (run several seeds).")
    diverged = len({id(row.run) for row in rows if row.run.diverged})
    if diverged:
        sentences.append(f"{diverged} diverged run{'s' if diverged > 1 else ''} left out.")
    return sentences


def _values_by_group(rows: list[Row]) -> dict[tuple[str, str], dict[str, list[float]]]:
    """{(kind, sampler): {metric key: per-seed values}} for the verdict's metrics."""
    out: dict[tuple[str, str], dict[str, list[float]]] = {}
    for row in rows:
        group = out.setdefault((row.run.model, row.sampler), {m.key: [] for m in VERDICT_METRICS})
        for m in VERDICT_METRICS:
            if _finite(row.scores.get(m.key)):
                group[m.key].append(row.scores[m.key])
    return out


def _compare_sentence(values: dict, sampler: str, first: bool, short: bool = False) -> str:
    """"With GMM samples the VAE-GAN is better on FID (…) and KID (…); the VAE on sharpness (…).";
    short: the metric names only, "… better on FID and KID; the VAE on sharpness (details below)." """
    by_winner: dict[str, list[str]] = {}  # "" holds exact ties
    for m in VERDICT_METRICS:
        hybrid, other = PAIR
        a, b = values[(hybrid, sampler)][m.key], values[(other, sampler)][m.key]
        if a and b:
            bad_a, bad_b = np.mean([badness(m, v) for v in a]), np.mean([badness(m, v) for v in b])
            winner = hybrid if bad_a < bad_b else other if bad_b < bad_a else ""
            win, lose = (b, a) if winner == other else (a, b)
            by_winner.setdefault(winner, []).append(m.name if short else _metric_phrase(m, win, lose, winner))
    parts, said_better = [], False
    for winner, phrases in by_winner.items():
        if not winner:
            parts.append(f"the two models tie on {_join(phrases)}")
            continue
        parts.append(f"the {kind_label(winner)}{'' if said_better else ' is better'} on {_join(phrases)}")
        said_better = True
    lead = "with" if first else "With"
    return (f"{lead} {SAMPLERS[sampler].label} samples " + ("; ".join(parts) or "no score is finite")
            + (" (details below)." if short else "."))


def _ranking_sentence(values: dict, sampler: str) -> str:
    """"All methods with GMM samples, best first: FID Soft-IntroVAE 61.2, VAE-GAN 78.0, VAE 236.4; KID …" (means
    over seeds)."""
    parts = []
    for m in VERDICT_METRICS:
        means = [(float(np.mean(v)), kind) for (kind, s), group in values.items() if s == sampler and (v := group[m.key])]
        means.sort(key=lambda item: badness(m, item[0]))
        if len(means) > 1:
            of_real = " of real" if m.better == "one" else ""
            parts.append(f"{m.name}{' (nearest 1.0 first)' if m.better == 'one' else ''} "
                         + ", ".join(f"{kind_label(k)} {v:.{m.decimals(v)}f}{of_real}" for v, k in means))
    return f"All methods with {SAMPLERS[sampler].label} samples, best first: " + ("; ".join(parts) or "no score is finite") + "."


def _metric_phrase(m: Metric, win: list[float], lose: list[float], winner: str) -> str:
    """"FID (74.1 vs 241.0, 3.25× lower; every VAE-GAN seed below every VAE seed)" — winner's mean first."""
    w, lo = float(np.mean(win)), float(np.mean(lose))
    digits = m.decimals(max(abs(w), abs(lo)))
    shown = [f"{v:.{digits}f}" for v in (w, lo)]
    of_real = " of real" if m.better == "one" else ""
    if not winner:
        return f"{m.name} ({shown[0]} each{of_real})"
    text = f"{m.name} ({shown[0]} vs {shown[1]}{of_real}"
    if m.better == "one" and w > 0 and lo > 0:
        text += f", {max(w, lo) / min(w, lo):.2f}× {'sharper' if w > lo else 'less sharp'}, nearer 1.0"
    elif m.better == "lower" and w > 0 and lo > 0:  # a ratio of KIDs at or below 0 means nothing
        text += f", {lo / w:.2f}× lower"
    spread = _seed_spread(m, win, lose, winner)
    return text + (f"; {spread}" if spread else "") + ")"


def _seed_spread(m: Metric, win: list[float], lose: list[float], winner: str) -> str:
    """Whether the winner's lead stands out of the seed-to-seed spread: every seed of one beyond every seed of the
    other, else the gap of the means in pooled standard deviations. '' with fewer than three runs in all."""
    if len(win) + len(lose) < 3:
        return ""
    bad_w, bad_l = [badness(m, v) for v in win], [badness(m, v) for v in lose]
    if max(bad_w) < min(bad_l):
        other = kind_label(PAIR[1] if winner == PAIR[0] else PAIR[0])
        where = "nearer 1.0 than" if m.better == "one" else "below"
        return f"every {kind_label(winner)} seed {where} every {other} seed"
    squares = sum(((np.array(b) - np.mean(b)) ** 2).sum() for b in (bad_w, bad_l))
    pooled = math.sqrt(squares / (len(bad_w) + len(bad_l) - 2))
    gap = abs(np.mean(bad_w) - np.mean(bad_l))
    ratio = gap / pooled if pooled > 0 else math.inf
    if ratio >= SEPARATED_AT:
        return f"gap {ratio:.1f}× the pooled seed std"
    return f"within the seed spread: gap {ratio:.1f}× the pooled seed std"


def _describe_group(values: dict, kind: str, sampler: str) -> str:
    """Without both models to compare: "VAE · GMM: FID 74.1, KID 0.0521, sharpness 0.93 of real (mean of 3 seeds)." """
    group = values[(kind, sampler)]
    means = {m: float(np.mean(group[m.key])) for m in VERDICT_METRICS if group[m.key]}
    parts = [f"{m.name} {v:.{m.decimals(v)}f}" + (" of real" if m.better == "one" else "") for m, v in means.items()]
    n = max(len(v) for v in group.values())
    over = f" (mean of {n} seeds)" if n > 1 else ""
    return f"{row_label(kind, sampler)}: {', '.join(parts)}{over}."


def _budget(rows: list[Row]) -> str:
    """"At 2000 steps each (3 seeds per model)", "At 20 min each (scored at step 9000 for the VAE, 1300 for the
    VAE-GAN)", or each model's budget when they differ."""
    def budget_of(config: dict) -> str:
        given = [f"{config[k]:g} {unit}" for k, unit in (("steps", "steps"), ("minutes", "min"), ("epochs", "epochs"))
                 if config.get(k) is not None]
        return " or ".join(given) or "an unknown budget"  # several: training stopped at the first reached

    runs = _runs(rows)
    kinds = list(dict.fromkeys(r.model for r in runs))
    budgets = {kind: sorted({budget_of(r.config) for r in runs if r.model == kind}) for kind in kinds}
    if len({b for kind_budgets in budgets.values() for b in kind_budgets}) == 1:
        text = f"At {budgets[kinds[0]][0]} each"
    else:
        text = "At unequal budgets (" + "; ".join(f"{kind_label(k)}: {' / '.join(b)}" for k, b in budgets.items()) + ")"
    notes = []
    seeds = {kind: len({r.seed for r in runs if r.model == kind}) for kind in kinds}
    if max(seeds.values()) > 1:
        notes.append(f"{seeds[kinds[0]]} seeds per model" if len(set(seeds.values())) == 1
                     else ", ".join(f"{n} seeds of the {kind_label(k)}" for k, n in seeds.items()))
    if any(r.step != r.config.get("steps") for r in runs):  # a time or epoch budget, or a best/interrupted checkpoint
        steps = {kind: sorted({r.step for r in runs if r.model == kind}) for kind in kinds}
        notes.append("scored at step " + ", ".join(f"{s[0] if len(s) == 1 else f'{s[0]}–{s[-1]}'} for the "
                                                   f"{kind_label(k)}" for k, s in steps.items()))
    return text + (f" ({'; '.join(notes)})" if notes else "")


def budget_text(rows: list[Row]) -> str:
    """"At 4 min each", as the verdict opens (see _budget), for the rows that count."""
    return _budget([row for row in rows if row.counts] or rows)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def fidelity_diversity(rows: list[Row]) -> list[str]:
    """Per sampler with two or more models scored, which model wins each nearest-neighbour score, fidelity
    (precision, density) apart from diversity (recall, coverage): "GMM samples: fidelity: the VAE-GAN on precision
    (0.812 vs 0.640 for the VAE) and density (…); diversity: the VAE on recall (…) and coverage (…)." Means over
    seeds; [] when fewer than two models have these scores."""
    counted = [row for row in rows if row.counts]
    sentences = []
    for sampler in dict.fromkeys(row.sampler for row in counted):
        groups: dict[str, dict[str, list[float]]] = {}
        for row in counted:
            if row.sampler == sampler:
                group = groups.setdefault(row.run.model, {m.key: [] for m in ASPECT_METRICS})
                for m in ASPECT_METRICS:
                    if _finite(row.scores.get(m.key)):
                        group[m.key].append(row.scores[m.key])
        parts = []
        for aspect in ("fidelity", "diversity"):
            by_winner: dict[str, list[str]] = {}
            for m in (m for m in ASPECT_METRICS if m.aspect == aspect):
                means = {kind: float(np.mean(g[m.key])) for kind, g in groups.items() if g[m.key]}
                if len(means) < 2:
                    continue
                ranked = sorted(means, key=lambda kind: badness(m, means[kind]))
                best = ranked[0]
                tied = means[ranked[1]] == means[best]
                digits = m.decimals(max(abs(v) for v in means.values()))
                others = ", ".join(f"{means[k]:.{digits}f} for the {kind_label(k)}" for k in ranked[1:])
                phrase = (f"{m.name} ({means[best]:.{digits}f} each)" if tied and len(set(means.values())) == 1
                          else f"{m.name} ({means[best]:.{digits}f} vs {others})")
                by_winner.setdefault("" if tied else best, []).append(phrase)
            said = [f"{'a tie' if not w else 'the ' + kind_label(w)} on {_join(p)}" for w, p in by_winner.items()]
            if said:
                parts.append(f"{aspect} ({'precision, density' if aspect == 'fidelity' else 'recall, coverage'}): "
                             + "; ".join(said))
        if parts:
            sentences.append(f"{SAMPLERS[sampler].label} samples — " + "; ".join(parts) + ".")
    return sentences
