"""Supernet ensembles: each member is read as one supernet (or few-shot parts), a
checkpoint in two members is refused, and a subnet's scores are their mean."""
import pytest
import torch
from supernet.space import ModularSpace

from smnas.modular.ensemble import (SupernetEnsemble, as_checkpoint_groups, mean_score, members_agreement,
                                   reliability_of_mean)
from smnas.modular.parts import InvalidParts

SPACE = ModularSpace(bases=(16, 24), max_depths=(1, 2, 1, 2), neck_channels=(32, 64),
                     head_channels=(32, 64))


def _ckpt(tmp_path, name, part=None):
    path = tmp_path / f'{name}.pth'
    torch.save(dict(state_dict={}, meta=dict(supernet_space=SPACE.to_dict(), supernet_part=part)), path)
    return str(path)


def test_the_forms_a_search_takes_name_each_supernet():
    assert as_checkpoint_groups('a.pth') == [['a.pth']]
    assert as_checkpoint_groups(['p32.pth', 'p64.pth']) == [['p32.pth', 'p64.pth']]  # few-shot parts
    assert as_checkpoint_groups([['s0.pth'], ['s1.pth']]) == [['s0.pth'], ['s1.pth']]
    assert as_checkpoint_groups(['s0.pth', ['p32.pth', 'p64.pth']]) == [['s0.pth'], ['p32.pth', 'p64.pth']]


def test_members_are_whole_supernets_or_few_shot_parts(tmp_path):
    s0, s1 = _ckpt(tmp_path, 's0'), _ckpt(tmp_path, 's1')
    p32 = _ckpt(tmp_path, 'p32', dict(neck_channels=[32]))
    p64 = _ckpt(tmp_path, 'p64', dict(neck_channels=[64]))
    one = SupernetEnsemble.from_checkpoints([[s0]], SPACE)
    assert len(one.members) == 1 and one.checkpoints() == s0 and one.describe() == s0 and one.few_shot is None
    ens = SupernetEnsemble.from_checkpoints([[s0], [s1], [p64, p32]], SPACE)
    assert ens.first.paths == [s0] and ens.checkpoints() == [s0, s1, [p64, p32]]
    assert ens.few_shot == 'neck_channels' and ens.describe().startswith('ensemble of 3: ')
    assert [m.checkpoint_of('16_1-2-2-2_n64_h32') for m in ens.members] == [s0, s1, p64]
    with pytest.raises(InvalidParts, match='is given twice \\(supernets 1 and 3\\)'):
        SupernetEnsemble.from_checkpoints([[s0], [s1], [s0]], SPACE)
    with pytest.raises(InvalidParts, match='give each as its own supernet of an ensemble'):
        SupernetEnsemble.from_checkpoints([[s0, s1]], SPACE)  # two whole supernets as parts
    with pytest.raises(InvalidParts, match='no supernet checkpoint'):
        SupernetEnsemble.from_checkpoints([], SPACE)


def test_a_subnets_scores_are_the_mean_over_the_supernets():
    runs = [dict(mAP=0.30, mAP_50=0.5, mAP_se=0.003, mAP_ci95=[0.29, 0.31], val_loss=1.0,
                 val_loss_terms=dict(loss_cls=0.4, loss_bbox=0.6)),
            dict(mAP=0.36, mAP_50=0.6, mAP_se=0.005, mAP_ci95=[0.35, 0.37], val_loss=0.8,
                 val_loss_terms=dict(loss_cls=0.2))]
    m = mean_score(runs)
    assert m['mAP'] == pytest.approx(0.33) and m['mAP_50'] == pytest.approx(0.55)
    assert m['val_loss'] == pytest.approx(0.9)
    assert m['mAP_se'] == pytest.approx(0.004)  # the same val images: their errors move together
    assert m['val_loss_terms'] == {'loss_cls': pytest.approx(0.3)}  # a term one lacks is left out
    assert 'mAP_ci95' not in m  # an interval of each is not one of the mean
    assert mean_score([dict(mAP=0.2), dict(mAP=0.4, val_loss=1.0)]) == {'mAP': pytest.approx(0.3)}


def test_members_agreement_is_the_reliability_of_one_supernet_and_of_their_mean():
    """Members that share an order and add noise of their own: one member's reliability is
    their correlation, the mean's rises by Spearman-Brown; members in full agreement are
    reliable at 1; opposite or constant members give no reliability."""
    import random

    rng = random.Random(0)
    own = [rng.gauss(0, 1) for _ in range(400)]
    members = [[v + rng.gauss(0, 0.7) for v in own] for _ in range(3)]  # reliability 1 / 1.49
    a = members_agreement(members, ks=(2, 6))
    assert a['members'] == 3 and a['subnets'] == 400
    assert a['reliability'] == pytest.approx(1 / 1.49, abs=0.05)
    assert a['mean_reliability'] == pytest.approx(reliability_of_mean(a['reliability'], 3))
    assert a['reliability'] < a['projected'][2] < a['mean_reliability'] < a['projected'][6] < 1
    assert reliability_of_mean(0.5, 2) == pytest.approx(2 / 3)
    same = members_agreement([own, [2 * v + 1 for v in own]])
    assert same['kendall_tau'] == pytest.approx(1.0) and same['mean_reliability'] == pytest.approx(1.0)
    opposite = members_agreement([own, [-v for v in own]])
    assert opposite['kendall_tau'] == pytest.approx(-1.0) and opposite['mean_reliability'] is None
    assert members_agreement([own, [1.0] * len(own)]) is None
    assert members_agreement([own]) is None and members_agreement([own[:2], own[:2]]) is None
