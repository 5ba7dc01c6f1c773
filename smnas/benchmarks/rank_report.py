"""The rank-fidelity benchmark's numbers from what it stored: the ground truth's own
agreement, each recipe's ranking against it, and the printed report.

``benchmarks/bench_rank_fidelity.py`` trains and scores; these functions only read the
stored trainings and scores (plain dicts), so that tests and other tools call them
directly.
"""
import json
import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from supernet.space import Subnet

from .stats import (attenuation_check, choice_effects, choice_reliability, disattenuated_tau,
                    disattenuated_tau_interval, dominant_choice, ensemble_projection, front_recovery,
                    front_recovery_draws, front_recovery_references, held_out_seed_check, interval95,
                    loss_term_agreement, mean_reliability, members_subsets, paired_difference,
                    paired_tau_difference, pooled_tau_difference, projected_seed_tau, rank_agreement,
                    rank_error, resolved_pairs, score_agreement, seed_agreement, seed_choice_effects,
                    seed_offsets, split_seed_agreement, stratified_effects, subset_taus, truth_reliability,
                    whole_seeds)

#: resamples of the val images for each inherited mAP's standard error (as the subnet search's)
INHERITED_BOOTSTRAP = 50


def subnet_choices(archs) -> dict:
    """Each choice of the subnets' encoding (base, depth: blocks in all, neck and head
    width, expansion where set) -> {subnet: its value}, for :func:`choice_effects`."""
    parsed = {a: Subnet.parse(a) for a in archs}
    out = {'base': {a: s.base for a, s in parsed.items()},
           'depth': {a: sum(len(st) for st in s.stages) for a, s in parsed.items()},
           'neck': {a: s.neck for a, s in parsed.items()},
           'head': {a: s.head for a, s in parsed.items()}}
    if any(s.expand is not None for s in parsed.values()):
        out['expand'] = {a: s.expand for a, s in parsed.items()}
    return out


#: the options that only reseed a supernet's training (its random members, initial weights and
#: data order): variants that differ in these alone train the same recipe
SEED_OPTIONS = ('model.seed', 'randomness.seed')


def seed_groups(states: Dict[str, dict]) -> Dict[str, List[str]]:
    """The variants that train one recipe with different seeds.

    Args:
        states: ``{variant: its state}`` (``cfg_options``, ``recipe``, ``supernet_iters``), in
            the order their names sort (the first member names the group).

    Returns:
        ``{first member: [members]}`` for every recipe scored by two variants or more.
    """
    groups: Dict[str, List[str]] = {}
    for name, v in states.items():
        if v.get('imported_from'):  # scored elsewhere: its options may not say all it trained
            continue
        opts = {k: o for k, o in (v.get('cfg_options') or {}).items() if k not in SEED_OPTIONS}
        key = json.dumps([opts, v.get('recipe'), v.get('supernet_iters')], sort_keys=True, default=str)
        groups.setdefault(key, []).append(name)
    return {members[0]: members for members in groups.values() if len(members) > 1}


def mean_scores(members: List[Dict[str, dict]]) -> Dict[str, dict]:
    """The scores of a ranking by several supernets at once: each subnet's mean over
    ``members`` (``{arch: score}`` each) of every score they all have, on the subnets they
    all scored (:func:`smnas.modular.ensemble.mean_score`, as a search over an ensemble
    scores), and the seconds each member's scoring took, summed."""
    from ..modular.ensemble import mean_score  # here: smnas.modular loads mmdet, the tables need none

    archs = [a for a in members[0] if all(a in m for m in members[1:])]
    out = {}
    for a in archs:
        out[a] = mean_score([m[a] for m in members])
        for k in ('seconds', 'finetune_seconds'):  # each member scores it: the ranking's cost
            if all(m[a].get(k) is not None for m in members):
                out[a][k] = sum(m[a][k] for m in members)
    return out


def member_agreement(members: Dict[str, Dict[str, dict]]) -> Optional[dict]:
    """How alike supernets of one recipe and different seeds rank the subnets they all
    scored (by inherited mAP): :func:`~smnas.benchmarks.stats.rank_agreement` of each pair,
    and their mean tau. None below 3 common subnets."""
    names = list(members)
    archs = [a for a in members[names[0]] if all(a in m for m in members.values())]
    if len(archs) < 3:
        return None

    def maps(name):
        return [members[name][a]['mAP'] for a in archs]

    pairs = {f'{a}-{b}': rank_agreement(maps(a), maps(b)) for i, a in enumerate(names) for b in names[i + 1:]}
    return dict(subnets=len(archs), pairs=pairs,
                mean_kendall_tau=statistics.fmean(p['kendall_tau'] for p in pairs.values()))


def own_supernets(variants: Dict[str, dict]) -> List[str]:
    """The recipes that trained a supernet of their own and scored its inherited weights
    as they are: no other recipe's supernet (``supernet_of``), no fine-tune, no few-shot
    parts, no mean of several, no scores imported from elsewhere. Their rankings are
    independent of one another (a recipe on another's supernet shares its noise); a record
    that does not say how a recipe scored (no ``recipe``) leaves it out.

    Args:
        variants: ``{name: variant}`` as the record holds them (``recipe``...).

    Returns:
        Their names, in the record's order.
    """
    out = []
    for name, v in variants.items():
        r = v.get('recipe')
        if (isinstance(r, dict) and r.get('supernet_of') is None and not r.get('finetune_iters')
                and r.get('few_shot') is None and not v.get('ensemble_of') and not v.get('imported_from')):
            out.append(name)
    return out


def pooled_loss_terms(variants: Dict[str, dict], truth: Dict[str, float]) -> Optional[dict]:
    """Each term of the inherited val loss against the inherited mAP, pooled over the
    independent supernets (:func:`own_supernets`) that scored each of their subnets with
    the loss's terms: :func:`~smnas.benchmarks.stats.pooled_tau_difference`, on the
    subnets of the truth they all scored. Whether ranking by a term beats ranking by the
    mAP beyond noise, as no one supernet can say.

    Args:
        variants: ``{name: variant}`` with ``inherited`` (``{arch: scores}``).
        truth: ``{arch: the truth's mAP}``.

    Returns:
        ``{term: difference}`` (each with ``supernets``: the names pooled), or None when
        fewer than two supernets or three common subnets have the terms.
    """
    def with_terms(v):
        inh = v.get('inherited') or {}
        return bool(inh) and all(s.get('val_loss_terms') and 'mAP' in s for s in inh.values())

    names = [n for n in own_supernets(variants) if with_terms(variants[n])]
    if len(names) < 2:
        return None
    archs = [a for a in truth if all(a in variants[n]['inherited'] for n in names)]
    if len(archs) < 3:
        return None
    inh = [variants[n]['inherited'] for n in names]
    terms = sorted(set.intersection(*(set(i[a]['val_loss_terms']) for i in inh for a in archs)))
    y = [truth[a] for a in archs]
    return {t: dict(pooled_tau_difference([([-i[a]['val_loss_terms'][t] for a in archs],
                                             [i[a]['mAP'] for a in archs]) for i in inh], y),
                    supernets=names, subnets=len(archs))
            for t in terms}


def _noise_trainings(seeds: Dict[str, Dict[str, float]],
                     truth_seeds: List[str]) -> Dict[str, Dict[str, float]]:
    # The noise of the trainings the truth averages, once it has two seeds (so that a seed
    # half-way through its subnets changes nothing until it is whole); before that, of the
    # subnets that have two so far, an early estimate.
    if len(truth_seeds) < 2:
        return seeds
    return {a: {k: m[k] for k in truth_seeds} for a, m in seeds.items()}


@dataclass
class GroundTruth:
    """The from-scratch truth: each subnet's mAP averaged over the seeds every subnet has
    (so that a run stopped half-way through a seed ranks against whole seeds), and how
    far it agrees with itself.

    Attributes:
        seeds: ``{arch: {seed: mAP}}``, every training.
        truth_seeds: the seeds every subnet has.
        truth: ``{arch: mean mAP over truth_seeds}``.
        agreement: :func:`~smnas.benchmarks.stats.seed_agreement` (with its ``split``), or
            None when no subnet has two seeds.
        resolved: the pairs of subnets the truth orders beyond its noise.
        reliability: :func:`~smnas.benchmarks.stats.truth_reliability`, or None.
        oracle: the tau of the true order against this truth: the most a ranking reaches.
    """
    seeds: Dict[str, Dict[str, float]]
    truth_seeds: List[str]
    truth: Dict[str, float]
    agreement: Optional[dict]
    resolved: list
    reliability: Optional[dict]
    oracle: Optional[float]

    @classmethod
    def of(cls, seeds: Dict[str, Dict[str, float]]) -> 'GroundTruth':
        """The truth of the trainings ``seeds`` (``{arch: {seed: mAP}}``)."""
        truth_seeds = whole_seeds(seeds)
        truth = {a: statistics.fmean(m[k] for k in truth_seeds) for a, m in seeds.items()}
        noisy = _noise_trainings(seeds, truth_seeds)
        # A seed that trains every subnet better (its data order) moves none against another:
        # the noise that rankings and differences of means see is what is left without it.
        offsets = seed_offsets(seeds, truth_seeds)
        shift = offsets['offsets'] if offsets else None
        agreement = (seed_agreement(seeds, truth_seeds, shift, noise_of=noisy)
                     if any(len(m) > 1 for m in seeds.values()) else None)
        # Tau counts every pair alike, ties within training noise included; the pairs that
        # training itself orders beyond its noise say whether the supernet ranks as it does.
        resolved = resolved_pairs(truth, agreement['se_of_mean']) if agreement else []
        # How much of a training's mAP is the subnet's, and how many seeds a truth must average
        # to agree with itself; its tau of the true order against a truth of these seeds is the
        # most any ranking can reach against this truth (an oracle's).
        split = split_seed_agreement(seeds, truth_seeds)
        if split:  # two truths of disjoint seeds, measured: the projection's check
            agreement['split'] = split
        if offsets and agreement:
            agreement['seed_offsets'] = offsets
        reliability = truth_reliability(noisy, ks=sorted({1, 2, 3, 4, 5, 6, 8, 10, len(truth_seeds)}),
                                        split=split and split['sizes'], offsets=shift) if agreement else None
        oracle = reliability['projected'][str(len(truth_seeds))]['vs_true'] if reliability else None
        return cls(seeds, truth_seeds, truth, agreement, resolved, reliability, oracle)

    def stratified_effects(self, choices: dict, scores: Optional[Dict[str, float]] = None) -> Optional[dict]:
        """The order left within the choice that orders most of this truth (the head width
        here): :func:`~smnas.benchmarks.stats.stratified_effects` given
        :func:`~smnas.benchmarks.stats.dominant_choice`, of the truth and, with ``scores``,
        of a ranking beside it; None where no choice orders the truth or it has one seed."""
        given = dominant_choice(choices, self.truth)
        return stratified_effects(choices, self.seeds, self.truth_seeds, given, scores) if given else None

    def record_fields(self, choices: dict) -> dict:
        """The results file's keys on the truth itself: ``ground_truth_seeds``,
        ``truth_choice_effects`` (one seed against another, per choice of ``choices``),
        ``truth_choice_effects_split`` (the means of two halves of the seeds, from 3 seeds),
        ``truth_choice_reliability`` (the truth's noise projected within each choice's values),
        ``truth_stratified_effects`` (each choice's effect within one value of the choice that
        orders most of the truth, with its standard error over the seeds), ``projected_24``
        and ``ground_truth_reliability``; none without two seeds."""
        out = {}
        if not self.agreement:
            return out
        out['ground_truth_seeds'] = self.agreement
        if len(self.truth_seeds) >= 2:  # the ceiling of every recipe's choice_effects
            out['truth_choice_effects'] = seed_choice_effects(choices, self.seeds, self.truth_seeds)
        if len(self.truth_seeds) >= 3:  # two truths of half the seeds each: nearer this truth's own
            out['truth_choice_effects_split'] = seed_choice_effects(choices, self.seeds, self.truth_seeds,
                                                                    split=True)
        effects = self.stratified_effects(choices)
        if effects:
            out['truth_stratified_effects'] = effects
        if self.reliability:  # how many seeds a truth needs to order the subnets within a choice
            noisy = _noise_trainings(self.seeds, self.truth_seeds)
            shift = (self.agreement.get('seed_offsets') or {}).get('offsets')
            ks = sorted({1, 2, 3, 5, 7, 10, 20, 40, len(self.truth_seeds)})
            out['truth_choice_reliability'] = choice_reliability(noisy, choices, ks, offsets=shift)
        sd = self.agreement['pooled_std']
        if sd == sd and len(self.truth) >= 2:
            # What a ground truth of 24 subnets spread between the extremes measured here
            # would agree with itself: a pilot's answer to "does this truth resolve?"
            lo, hi = min(self.truth.values()), max(self.truth.values())
            values = [lo + (hi - lo) * i / 23 for i in range(24)]
            out['projected_24'] = {f'seed_tau_{k}_seeds': projected_seed_tau(values, sd, k)
                                   for k in (1, 2, 3)}
        if self.reliability:
            out['ground_truth_reliability'] = dict(self.reliability, oracle_tau=self.oracle)
            check = attenuation_check(self.seeds, self.truth_seeds, self.reliability)
            if check:
                out['ground_truth_reliability']['attenuation_check'] = check
            held = held_out_seed_check(self.seeds, self.truth_seeds)
            if held:
                out['ground_truth_reliability']['held_out_check'] = held
        return out

    def front_recovery(self, rankings: Dict[str, Dict[str, float]], cost: Dict[str, float],
                       default: Optional[str] = None, finalists: int = 6) -> Optional[dict]:
        """What each ranking's search would retrain: its finalists' share of the true
        accuracy-cost front (:func:`~smnas.benchmarks.stats.front_recovery`), with an interval
        for the truth's noise and paired against ``default``; beside a ranking by cost alone
        (``by_cost``), random rankings, and one seed's trainings judged by the other seeds'.

        Args:
            rankings: ``{name: {arch: score}}``, higher better (a loss negated).
            cost: ``{arch: cost}`` (GFLOPs).
            default: the ranking the others are paired with.
            finalists: how many finalists a search keeps.

        Returns:
            None with fewer than 3 subnets of known cost; else ``finalists``, ``rankings``
            (``{name: front_recovery + hv_ratio_ci95 (+ minus_default)}``) and ``reference``.
        """
        archs = [a for a in self.truth if a in cost]
        if len(archs) < 3:
            return None
        cost = {a: cost[a] for a in archs}
        rankings = dict(rankings, by_cost=cost)  # finalists spread by cost alone
        out = {name: front_recovery({a: scores[a] for a in archs if a in scores}, self.truth, cost, finalists)
               for name, scores in rankings.items()}
        seeds = {a: {k: self.seeds[a][k] for k in self.truth_seeds} for a in archs}
        draws = front_recovery_draws(rankings, seeds, self.truth_seeds, cost, finalists) or {}
        for name, r in out.items():
            if name in draws:
                r['hv_ratio_ci95'] = interval95(draws[name])
            if name != default and default in draws and name in draws:
                r['minus_default'] = paired_difference(draws[name], draws[default],
                                                       r['hv_ratio'] - out[default]['hv_ratio'])
        return dict(finalists=finalists, rankings=out,
                    reference=front_recovery_references(seeds, self.truth_seeds, cost, finalists))

    def projected_tau(self, scores: Dict[str, float]) -> Optional[dict]:
        """A recipe's ranking, its tau against this truth projected to the true order and to
        truths of more seeds (:func:`~smnas.benchmarks.stats.disattenuated_tau`): how much
        of the gap to 1 is the truth's seed noise, and what training more seeds would measure.

        Args:
            scores: ``{arch: score}``, higher ranked better (a loss negated).

        Returns:
            None without a reliability; else ``vs_true`` with ``vs_true_ci95`` (a bootstrap
            over the subnets that estimates the reliability again in each draw), and
            ``vs_seeds``: ``{k: tau}`` for each projected truth of more seeds than this one's.
        """
        from scipy.stats import kendalltau

        if not self.reliability:
            return None
        archs = [a for a in scores if a in self.truth]
        tau = float(kendalltau([scores[a] for a in archs], [self.truth[a] for a in archs])[0])
        have = mean_reliability(self.reliability, len(self.truth_seeds))
        offsets = (self.agreement.get('seed_offsets') or {}).get('offsets')
        interval = disattenuated_tau_interval({a: scores[a] for a in archs},
                                              _noise_trainings(self.seeds, self.truth_seeds),
                                              self.truth_seeds, offsets)
        return dict(vs_true=disattenuated_tau(tau, have), vs_true_ci95=interval,
                    vs_seeds={k: disattenuated_tau(tau, have, mean_reliability(self.reliability, int(k)))
                              for k in self.reliability['projected'] if int(k) > len(self.truth_seeds)})

    def rank_recipe(self, inherited: Dict[str, dict], archs: List[str], rows: dict, min_arch: str,
                    choices: dict) -> dict:
        """One recipe's ranking of ``archs`` against this truth.

        Args:
            inherited: ``{arch: score}`` (``mAP``, and ``val_loss``, ``mAP_se``... where scored).
            archs: the subnets both scored and trained (two or more).
            rows: ``{arch: the truth's row}`` (``mAP_scratch``: seed 0's mAP).
            min_arch: the space's min subnet (the sandwich trains it at every step).
            choices: :func:`subnet_choices` of the ranked subnets.

        Returns:
            :func:`~smnas.benchmarks.stats.rank_agreement` by mAP, and ``kendall_tau_seed0``,
            ``by_score`` (mAP, val loss, their blend), ``choice_effects``, ``stratified_effects``
            (by mAP, beside the truth's), ``by_loss_term``,
            ``min_subnet``, ``tau_over_ceiling``, ``tau_over_oracle``, ``projected_tau``
            (:meth:`projected_tau`) and ``resolved_pairs`` (``_agreed``), where they apply.
        """
        from scipy.stats import kendalltau

        x, y = [inherited[a]['mAP'] for a in archs], [self.truth[a] for a in archs]
        out = dict(rank_agreement(x, y),
                   kendall_tau_seed0=float(kendalltau(x, [rows[a]['mAP_scratch'] for a in archs])[0]))
        se = self.agreement['se_of_mean'] if self.agreement else None
        out['by_score'] = score_agreement(inherited, archs, y, min_arch, se)
        # which choices (head width, neck width, base, depth) it orders as training does, and
        # of the pairs training resolves, how many lie within a choice's value and how many it gets
        resolved = self.resolved if self.agreement else None
        effects = {'mAP': choice_effects(choices, {a: inherited[a]['mAP'] for a in archs}, self.truth,
                                         resolved)}
        if all('val_loss' in inherited[a] for a in archs):
            effects['val_loss'] = choice_effects(choices, {a: -inherited[a]['val_loss'] for a in archs},
                                                 self.truth, resolved)
        out['choice_effects'] = effects
        # which choice it misjudges within the one that orders most of the space, and by how much
        stratified = self.stratified_effects(choices, {a: inherited[a]['mAP'] for a in archs})
        if stratified:
            out['stratified_effects'] = stratified
        terms = loss_term_agreement(inherited, archs, y)  # each term of the loss alone
        if terms:
            out['by_loss_term'] = terms
        # the sandwich trains the min subnet at every step: how far that lifts its rank
        out['min_subnet'] = rank_error(min_arch, {a: inherited[a]['mAP'] for a in archs}, self.truth, se)
        ceiling = (self.agreement or {}).get('mean_seed_pair_tau')
        if ceiling:
            out['tau_over_ceiling'] = out['kendall_tau'] / ceiling
        if self.oracle:
            out['tau_over_oracle'] = out['kendall_tau'] / self.oracle
        projected = self.projected_tau({a: inherited[a]['mAP'] for a in archs})
        if projected:
            out['projected_tau'] = projected
        if self.agreement:
            pairs = [(a, b) for a, b in self.resolved if a in inherited and b in inherited]
            agreed = sum(inherited[a]['mAP'] > inherited[b]['mAP'] for a, b in pairs)
            out.update(resolved_pairs=len(pairs), resolved_pairs_agreed=agreed)
        return out

    def _members_projection(self, named: Dict[str, Dict[str, dict]], archs: List[str]) -> dict:
        """``members_projection`` (by mAP) and ``members_projection_by_score`` (by the val
        loss and by each of its terms alone, lower ranked better, where every member has
        it): :func:`~smnas.benchmarks.stats.ensemble_projection` of seeds of one recipe; and
        ``members_subsets``, the mean of every subset of them measured by mAP
        (:func:`~smnas.benchmarks.stats.members_subsets`)."""
        truth = {a: self.truth[a] for a in archs}
        members = list(named.values())

        def score(run: dict, key: str):
            return run.get('val_loss') if key == 'val_loss' else (run.get('val_loss_terms') or {}).get(key)

        out = dict(members_projection=ensemble_projection(
            [{a: m[a]['mAP'] for a in archs} for m in members], truth))
        keys = ['val_loss'] + list(members[0][archs[0]].get('val_loss_terms') or {})
        by = {k: ensemble_projection([{a: -score(m[a], k) for a in archs} for m in members], truth)
              for k in keys if all(score(m[a], k) is not None for m in members for a in archs)}
        if by:
            out['members_projection_by_score'] = by
        subsets = members_subsets({n: {a: m[a]['mAP'] for a in archs} for n, m in named.items()}, truth)
        if subsets:
            out['members_subsets'] = subsets
        return out

    def rank_variants(self, states: Dict[str, dict], rows: dict, min_arch: str, choices: dict,
                      default: str, supernet_seconds: Dict[str, float],
                      means: Sequence[Sequence[str]] = ()) -> Dict[str, dict]:
        """Every recipe's ranking against this truth, the rankings by the mean scores of
        several supernets, and each paired with the default recipe.

        A recipe that has scored every subnet the truth trained is ranked
        (:meth:`rank_recipe`); one that has scored only some is kept with its scores and a
        first look (``interim``: a tau over a subset does not compare with one over every
        subnet), so that a record written mid-scoring rescores none of them. Seeds of one
        recipe (:func:`seed_groups`) are also ranked by their mean score, with how alike
        they rank and what a mean of more seeds would reach
        (:func:`~smnas.benchmarks.stats.ensemble_projection`); so are the means over other
        recipes' supernets asked for.

        Args:
            states: ``{variant: its state}`` (``inherited`` scores, ``cfg_options``...).
            rows: ``{arch: the truth's row}`` of the subnets trained from scratch.
            min_arch: the space's min subnet.
            choices: :func:`subnet_choices` of the ranked subnets.
            default: the default recipe, which every other is paired with
                (``tau_minus_default``, by mAP, and ``tau_minus_default_by_loss``).
            supernet_seconds: each variant's supernet training time.
            means: lists of variants whose supernets are also ranked by their mean score
                (named ``a+b``), once each has scored every subnet.

        Returns:
            ``{name: ranking}``: a ranked recipe carries ``kendall_tau``; one under way does not.
        """
        variants = {}
        for name, v in states.items():
            inh = v.get('inherited', {})
            archs = [a for a in rows if a in inh]
            variants[name] = dict(subnets=len(archs), cfg_options=v.get('cfg_options') or {},
                                  supernet_iters=v.get('supernet_iters'),
                                  supernet_seconds=supernet_seconds.get(name, 0.0),
                                  supernet_wall_seconds=v.get('supernet_wall_seconds'),
                                  imported_from=v.get('imported_from'), recipe=v.get('recipe'),
                                  mAP_inherited={a: inh[a]['mAP'] for a in inh},
                                  # every score as stored (val loss, noise, time): a record
                                  # restores a variant's scores whole, not only their mAPs
                                  inherited=inh)
            ses = [inh[a]['mAP_se'] for a in inh if inh[a].get('mAP_se') is not None]
            if ses:  # each inherited score's own noise, over the val images
                variants[name]['mean_inherited_mAP_se'] = statistics.fmean(ses)
            if len(archs) == len(rows) >= 2:  # a ranking needs two subnets trained from scratch
                variants[name].update(self.rank_recipe(inh, archs, rows, min_arch, choices))
            elif len(archs) >= 2:
                first = rank_agreement([inh[a]['mAP'] for a in archs], [self.truth[a] for a in archs])
                variants[name]['interim'] = {k: first[k] for k in ('kendall_tau', 'kendall_tau_ci95',
                                                                   'spearman_rho')}
        scored = {n: v.get('inherited', {}) for n, v in states.items()}
        groups = [(members, True) for members in seed_groups(states).values()]
        groups += [(list(members), False) for members in means]
        for members, seeds_of_one in groups:
            # a seed still training or scoring joins once it has scored every subnet: until
            # then the ranking is that of the seeds done (a mean over recipes waits for all)
            done = [m for m in members if m in scored and all(a in scored[m] for a in rows)]
            if len(done) < (2 if seeds_of_one else len(members)):
                continue
            name = f'{done[0]}_x{len(done)}' if seeds_of_one else '+'.join(done)
            inh = mean_scores([scored[m] for m in done])
            archs = [a for a in rows if a in inh]
            if len(archs) < 2 or name in states:
                continue
            scored[name] = inh
            variants[name] = dict(
                subnets=len(archs), ensemble_of=done, mean_over='seeds' if seeds_of_one else 'recipes',
                mAP_inherited={a: inh[a]['mAP'] for a in inh}, inherited=inh,
                supernet_seconds=sum(variants[m]['supernet_seconds'] for m in done),
                members_agreement=member_agreement({m: scored[m] for m in done}),
                **self.rank_recipe(inh, archs, rows, min_arch, choices))
            if seeds_of_one:  # what a mean of more seeds would rank at, and of any number
                variants[name].update(self._members_projection({m: scored[m] for m in done}, archs))
        # each recipe against the default on the same subnets, paired: better beyond noise?
        dflt = scored.get(default, {})
        for name, inh in scored.items():
            common = [a for a in rows if a in inh and a in dflt]
            if name != default and len(common) >= 3:
                variants[name]['tau_minus_default'] = paired_tau_difference(
                    [inh[a]['mAP'] for a in common], [dflt[a]['mAP'] for a in common],
                    [self.truth[a] for a in common])
            # and by the val loss, where both have it
            lossy = [a for a in common if 'val_loss' in inh[a] and 'val_loss' in dflt[a]]
            if name != default and len(lossy) >= 3:
                variants[name]['tau_minus_default_by_loss'] = paired_tau_difference(
                    [-inh[a]['val_loss'] for a in lossy], [-dflt[a]['val_loss'] for a in lossy],
                    [self.truth[a] for a in lossy])
        return variants


def _ci(interval) -> str:
    return f'[95% {interval[0]:.2f}, {interval[1]:.2f}] ' if interval else ''


def _paired(d: dict) -> str:
    """A paired tau difference (stats.paired_tau_difference) as text."""
    return (f'{d["difference"]:+.3f} {_ci(d["difference_ci95"])}'
            f'({"beyond" if d["beyond_noise"] else "within"} noise, paired bootstrap)')


def _fronts(front: dict) -> str:
    """Each ranking's finalists' share of the true front's hypervolume, as text."""
    ref = front['reference']
    lines = [f'the finalists each ranking leads to ({front["finalists"]}, spread along its front by GFLOPs), '
             f"valued at their from-scratch mAP: their share of the true front's hypervolume"]
    for name, r in sorted(front['rankings'].items(), key=lambda kv: -kv[1]['hv_ratio']):
        paired = f', {_paired(r["minus_default"])} against the default' if r.get('minus_default') else ''
        lines.append(f'  {name}: {r["hv_ratio"]:.3f} {_ci(r.get("hv_ratio_ci95"))}'
                     f'({r["on_true_front"]} of {len(r["finalists"])} on the true front){paired}')
    rnd = ref['random']
    lines.append(f'  random rankings: {rnd["mean"]:.3f} {_ci(rnd["ci95"])}'.rstrip()
                 + (f'; one seed judged by the other seeds: {ref["mean_seed_vs_rest"]:.3f}'
                    if 'mean_seed_vs_rest' in ref else ''))
    return '\n'.join(lines)


def _taus(rankings: dict) -> str:
    """``{name: rank_agreement(...)}`` as 'name: tau x [95% lo, hi]' items."""
    return ', '.join(f'{k}: tau {r["kendall_tau"]:.3f} {_ci(r.get("kendall_tau_ci95"))}'.rstrip()
                     for k, r in rankings.items())


def _effects(effects: dict) -> str:
    """choice_effects as one line: per choice, tau of the values' means and the pairs'
    tau within (each value's where recorded) and across its values, with how many of the
    pairs the truth resolves there the ranking orders alike (where recorded)."""
    def tau(t):
        return '-' if t is None else f'{t:.2f}'

    def each(e):
        per = ', '.join(f'{v} {tau(m["tau"])}' for v, m in e['values'].items() if 'tau' in m)
        return f': {per}' if per else ''

    def agreed(s):  # of the pairs the truth resolves
        return f'{s["resolved_agreed"]}/{s["resolved"]} resolved agreed' if 'resolved' in s else ''
    parts = []
    for c, e in effects.items():
        w, x = e['within'], e['across']
        inner = '; '.join(t for t in (f'{w["pairs"]} pairs{each(e)}', agreed(w)) if t)
        parts.append(f'{c} means {tau(e["tau_of_means"])}, within {tau(w["tau"])} ({inner}), across '
                     f'{tau(x["tau"])}' + (f' ({agreed(x)})' if agreed(x) else ''))
    return '; '.join(parts)


def _stratified(effects: dict, key: str = 'truth') -> str:
    """stratified_effects as one line: per choice, each value's effect by ``key`` (``truth``
    with its standard error, or ``score`` with the tau of the values' effects against the
    truth's)."""
    parts = []
    for c, e in effects['choices'].items():
        each = ', '.join(f'{v} {m[key]:+.4f}' + (f'±{m["truth_se"]:.4f}' if key == 'truth' else '')
                         for v, m in e['values'].items())
        tau = e.get('tau_of_effects')
        parts.append(f'{c} {each}' + (f' (tau {tau:.2f})' if key == 'score' and tau is not None else ''))
    return '; '.join(parts)


def _projected(p: dict) -> str:
    more = ', '.join(f'{k} seeds {t:.2f}' for k, t in p['vs_seeds'].items())
    return (f'corrected for the truth\'s seed noise (projected): tau {p["vs_true"]:.2f} '
            f'{_ci(p.get("vs_true_ci95"))}against the true order'
            + (f'; against a truth of {more}' if more else ''))


def _band(m: dict) -> str:
    """A rank error's band: the from-scratch ranks the truth cannot tell apart."""
    if 'scratch_band' not in m:
        return ''
    lo, hi = m['scratch_band']
    return (f'; from scratch within noise of ranks {lo}-{hi}: '
            f'{m["error_beyond_noise"]} places beyond that')


def print_summary(s: dict) -> None:
    """The results file ``s`` (the bench's summary) as a table and the headline numbers."""
    names = list(s['variants'])
    print(f'{"subnet":34s} {"GFLOPs":>7s} {"mAP scratch":>11s} {"seeds":>5s} '
          + ' '.join(f'{n[:12]:>12s}' for n in names))
    for arch, r in sorted(s['subnets'].items(), key=lambda kv: kv[1]['gflops']):
        scratch = (f'{r["mAP_scratch_mean"]:.4f} {r["scratch_seeds"]:5d}' if 'mAP_scratch_mean' in r
                   else f'{r.get("error", "-"):>11s} {"":5s}')
        inh = ' '.join(f'{s["variants"][n]["mAP_inherited"].get(arch, float("nan")):12.4f}' for n in names)
        print(f'{arch:34s} {r["gflops"]:7.3f} {scratch:>11s} {inh}')
    for n, v in s['variants'].items():
        if 'kendall_tau' in v:
            resolved = (f'; orders {v["resolved_pairs_agreed"]}/{v["resolved_pairs"]} of the pairs the '
                        f'ground truth resolves as it does' if 'resolved_pairs' in v else '')
            print(f'{n}: Kendall tau {v["kendall_tau"]:.3f} {_ci(v.get("kendall_tau_ci95"))}(p '
                  f'{v["kendall_p"]:.3f}), Spearman rho {v["spearman_rho"]:.3f} '
                  f'{_ci(v.get("spearman_rho_ci95"))}(p {v["spearman_p"]:.3f}) over {v["subnets"]} '
                  f'subnets{resolved}')
            agree = v.get('members_agreement')
            if v.get('ensemble_of'):
                alike = (f'; they rank alike at Kendall tau {agree["mean_kendall_tau"]:.3f} over '
                         f'{agree["subnets"]} subnets' if agree else '')
                what = ('recipes' if v.get('mean_over') == 'recipes' else
                        f'one recipe, {len(v["ensemble_of"])} seeds')
                print(f'    ranked by the mean score of {", ".join(v["ensemble_of"])} ({what}){alike}')
            proj = v.get('members_projection')
            if proj:
                sd = proj.get('member_tau_sd')  # absent from records made before it
                spread = f' +- {sd:.3f} (sd over seeds)' if sd is not None else ''
                print(f'    one seed alone: tau {proj["member_tau"]:.3f}{spread}; a mean of more seeds '
                      f'of it, projected (one seed\'s reliability {proj["reliability"]:.2f}): '
                      + ', '.join(f'{k} {t:.3f}' for k, t in proj['projected'].items())
                      + f'; any number: {proj["limit"]:.3f} {_ci(proj.get("limit_ci95"))}'.rstrip())
                taus = subset_taus(v.get('members_subsets') or {})
                if taus:
                    print('    the mean of K of its seeds, measured over every K of them: ' + ', '.join(
                        f'{k} {statistics.fmean(t):.3f} ({min(t):.3f}-{max(t):.3f})'
                        for k, t in taus.items() if t))
                by = v.get('members_projection_by_score') or {}
                if by:
                    limits = [f'{k} {p["limit"]:.3f} {_ci(p.get("limit_ci95"))}'.rstrip()
                              for k, p in by.items() if p]
                    print('    ranked by the val loss or one of its terms instead, any number of seeds: '
                          + ', '.join(limits))
            if 'mean_inherited_mAP_se' in v:
                print(f'    standard error of a score with inherited weights, over the val images: '
                      f'{v["mean_inherited_mAP_se"]:.4f} on average ({INHERITED_BOOTSTRAP} resamples)')
            if 'tau_over_oracle' in v or 'tau_over_ceiling' in v:
                parts = [f'{v[k]:.2f} of {what}' for k, what in (
                    ('tau_over_ceiling', "one training's tau against another's"),
                    ('tau_over_oracle', "an oracle's against this truth (the true order's)")) if k in v]
                print('    its tau is ' + ' and '.join(parts))
            if v.get('projected_tau'):
                print('    ' + _projected(v['projected_tau']))
            if v.get('by_score'):
                print('    ranked by ' + _taus(v['by_score']))
                for k, r in v['by_score'].items():
                    d, m = r.get('tau_minus_mAP'), r.get('min_subnet')
                    if d:
                        print(f'    {k} - mAP: tau {_paired(d)}')
                    if m and k != 'mAP':
                        print(f'    by {k} the min subnet ranks {m["rank_inherited"]} of {m["of"]}{_band(m)}')
            d = v.get('tau_minus_default')
            if d:
                print(f'    tau - the default\'s ({s["default_variant"]}) on the same subnets: {_paired(d)}')
            d = v.get('tau_minus_default_by_loss')
            if d:
                print(f'    by val loss, tau - the default\'s ({s["default_variant"]}) on the same subnets: '
                      f'{_paired(d)}')
            m = v.get('min_subnet')
            if m:
                print(f'    the min subnet ranks {m["rank_inherited"]} of {m["of"]} inherited, '
                      f'{m["rank_scratch"]} from scratch ({m["error"]} places apart){_band(m)}')
            for term, r in (v.get('by_loss_term') or {}).items():
                d = r.get('tau_minus_mAP')
                print('    ranked by one term of the val loss, ' + _taus({term: r})
                      + (f'; minus by mAP {_paired(d)}' if d else ''))
            for k, effects in (v.get('choice_effects') or {}).items():
                print(f'    by {k}: ' + _effects(effects))
            st = v.get('stratified_effects')
            if st:
                print(f'    within one {st["given"]} value, by mAP (each value\'s mean minus its '
                      f'{st["given"]}\'s; tau of the values against the truth\'s): '
                      + _stratified(st, 'score'))
    for n, v in (s.get('variants_under_way') or {}).items():
        first = v.get('interim')
        look = (f'; a first look over them, not comparable with the rankings over every subnet: tau '
                f'{first["kendall_tau"]:.3f} {_ci(first.get("kendall_tau_ci95"))}'.rstrip() if first else '')
        print(f'{n}: not ranked yet ({v["subnets"]} subnets scored{look}; rerun its command to go on)')
    d = s.get('default') or {}
    if 'kendall_tau' in d:
        m = d.get('min_subnet') or {}
        where = (f'; the min subnet {m["rank_inherited"]} of {m["of"]} ({m["error"]} places off{_band(m)})'
                 if m else '')
        print(f'default (recipe {d["variant"]}, ranked by {d["score"]}, as the search ranks): Kendall tau '
              f'{d["kendall_tau"]:.3f} {_ci(d.get("kendall_tau_ci95"))}'.rstrip() + where)
        if d.get('projected_tau'):
            print('    ' + _projected(d['projected_tau']))
    if s.get('baselines'):
        print('baselines (ranking by size alone): ' + _taus(s['baselines']))
    pooled = s.get('loss_terms_pooled') or {}
    if pooled:
        first = next(iter(pooled.values()))
        print(f'each val-loss term minus the mAP, pooled over the {len(first["supernets"])} supernets '
              f'trained on their own ({", ".join(first["supernets"])}; {first["subnets"]} subnets):')
        for term, d in pooled.items():
            print(f'    {term}: tau {_paired(d)}; each ' + ', '.join(f'{e:+.3f}' for e in d['each']))
    if s.get('front_recovery'):
        print(_fronts(s['front_recovery']))
    if 'ground_truth_seeds' in s:
        g = s['ground_truth_seeds']
        tau = g['mean_seed_pair_tau']
        print(f'ground truth: the mean of seeds {",".join(s["truth_seeds"])} (every subnet has them; '
              f'{g["seeds_per_subnet"][0]}-{g["seeds_per_subnet"][1]} seeds per subnet trained): '
              f'seed-to-seed std {g["pooled_std"]:.4f}'
              + (f' ({g["raw_std"]:.4f} with the seeds\' common offsets)' if 'raw_std' in g else '')
              + f', standard error of a mean {g["se_of_mean"]:.4f}; '
              f'{g["pairs_resolved"]}/{g["pairs"]} pairs differ by more than 2 standard errors; Kendall tau '
              f'between two seeds\' rankings {"-" if tau is None else f"{tau:.3f}"}')
        if tau is None and g.get('seed_tau_so_far'):
            t = g['seed_tau_so_far']
            print(f'  so far: seeds {" and ".join(t["seeds"])} rank the {t["subnets"]} subnets that have '
                  f'both at Kendall tau {t["kendall_tau"]:.3f} (Spearman {t["spearman_rho"]:.3f})')
        if g.get('split'):
            sp = g['split']
            proj = (s.get('ground_truth_reliability') or {}).get('projected_split')
            each = ', '.join(f'{k} {v:.3f}' for k, v in sp['splits'].items())
            print(f'  two truths that share no seed ({sp["sizes"][0]} against {sp["sizes"][1]} seeds): '
                  f'Kendall tau {sp["kendall_tau"]:.3f} ({each})'
                  + (f'; projected {proj["seed_vs_seed"]:.3f}' if proj else ''))
        o = g.get('seed_offsets')
        if o:
            print(f'  seed offsets common to every subnet (a seed\'s data order): std {o["offset_std"]:.4f} '
                  f'(F {o["f"]:.1f}, p {o["p"]:.3f}), {100 * o["share"]:.0f}% of a training\'s noise '
                  f'variance; the noise left, which rankings see: std {o["residual_std"]:.4f} (offsets '
                  + ', '.join(f'{k} {v:+.4f}' for k, v in o['offsets'].items()) + ')')
    if s.get('truth_choice_effects'):
        print('  seed against seed: ' + _effects(s['truth_choice_effects']))
    if s.get('truth_choice_effects_split'):
        sizes = ((s.get('ground_truth_seeds') or {}).get('split') or {}).get('sizes')
        halves = f'{sizes[0]} seeds against {sizes[1]}' if sizes else 'half the seeds against the rest'
        print(f'  {halves}: ' + _effects(s['truth_choice_effects_split']))
    for c, r in (s.get('truth_choice_reliability') or {}).items():
        print(f'  projected within one {c} value ({r["pairs"]} pairs), two truths of k seeds each (and one '
              f'against the true order): ' + ', '.join(f'k={k} {p["seed_vs_seed"]:.2f} ({p["vs_true"]:.2f})'
                                                      for k, p in r['projected'].items()))
    st = s.get('truth_stratified_effects')
    if st:
        print(f'  within one {st["given"]} value (the choice that orders most of the truth), each value\'s '
              f'mean minus its {st["given"]}\'s, with its standard error over the seeds: ' + _stratified(st))
    if 'projected_24' in s:
        p = s['projected_24']
        print('projected: 24 subnets spread evenly between the extremes measured here would rank alike '
              'across two independent truths at Kendall tau ' +
              ', '.join(f'{v:.2f} ({k.split("_")[2]} seed{"s" if k.split("_")[2] != "1" else ""} each)'
                        for k, v in p.items()))
    if 'ground_truth_reliability' in s:
        r = s['ground_truth_reliability']
        need = r['seeds_for_target']
        ks = ', '.join(f'k={k} {p["seed_vs_seed"]:.2f} ({p["vs_true"]:.2f})'
                       for k, p in r['projected'].items())
        print(f'reliability over the {r["subnets"]} subnets with 2+ seeds: true std {r["true_std"]:.4f}, '
              f'seed std {r["noise_std"]:.4f}, {100 * r["icc"]:.0f}% of one training\'s variance is the '
              'subnet\'s; projected Kendall tau between two truths of k seeds each (and of one against '
              f'the true order): {ks}; tau >= {r["target"]} needs '
              + (f'{need} seeds per truth' if need else 'more seeds than projected')
              + (f'; an oracle ranking by the true order reaches tau {r["oracle_tau"]:.2f} against '
                 'this truth' if r.get('oracle_tau') else ''))
        c = r.get('attenuation_check')
        if c:
            each = ', '.join(f'{k} {v["projected"]:.3f}/{v["measured"]:.3f}'
                             for k, v in c['per_seed'].items())
            print('  the correction for the truth\'s noise, checked on the truth: one seed\'s tau against '
                  f'the mean of the others, projected to one other seed, {c["projected"]:.3f}; measured '
                  f'{c["measured"]:.3f} (per seed, projected/measured: {each})')
        h = r.get('held_out_check')
        if h:
            p, m = h['projected'], h['measured']
            print(f'  the noise model fitted on seeds {"+".join(h["fit_seeds"])} alone, checked on seed '
                  f'{h["held_out"]}: its tau against one of them projected {p["vs_one"]:.3f}, measured '
                  f'{m["vs_one"]:.3f}; against their mean projected {p["vs_rest"]:.3f}, measured '
                  f'{m["vs_rest"]:.3f}')
    if 'ground_truth_noise' in s:
        n = s['ground_truth_noise']
        print(f'ground truth noise: {n["arch"]} from scratch with {len(n["mAP_by_seed"])} seeds: mAP spread '
              f'{n["spread"]:.4f} (std {n["std"]:.4f}); {n["pairs_within_spread"]}/{n["pairs"]} pairs of '
              f'ranked subnets differ by less')
    if s['scratch_over_inherited']:
        print(f'scoring a subnet with inherited weights: {s["mean_inherited_seconds"]:.1f} s, from scratch: '
              f'{s["mean_scratch_seconds"]:.0f} s ({s["scratch_over_inherited"]:.0f}x)')
    if 'modular_stage' in s:
        m = s['modular_stage']
        print(f'modular stage: supernet {m["supernet_seconds"] / 60:.1f} min + search of '
              f'{m["searched_subnets"]} subnets {m["search_seconds"] / 60:.1f} min = '
              f'{m["stage_seconds"] / 3600:.2f} h; training every '
              f'searched subnet from scratch: {m["every_searched_from_scratch_seconds"] / 3600:.1f} h '
              f'({m["every_searched_over_stage"]:.1f}x; fit r2 {m["scratch_fit"]["r2"]:.2f})')
