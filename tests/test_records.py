"""Typed records: round trips through their JSON form, unknown keys kept."""
from smnas.records import Finalist, TrialResult


def test_a_trial_result_round_trips_and_keeps_unknown_keys():
    d = dict(status='ok', arch='r18_fpn-p2p5-p6_rpn_rcnn_96x64', input_size=[96, 64], mAP=0.3, mAP_50=0.5,
             latency_ms=12.5, flops=1e9, params=2e6, device='cpu', train_seconds=3.0, iters=10,
             from_a_newer_version=[1, 2])
    r = TrialResult.from_dict(d)
    assert (r.mAP, r.latency_ms, r.eval_seconds) == (0.3, 12.5, None)
    assert r.extra == {'from_a_newer_version': [1, 2]}
    assert r.to_dict() == d


def test_a_finalist_takes_its_retraining():
    f = Finalist(name='E0', arch='48_1-2-2-2_n128_h128', config='E0/x.py', input_size=[160, 120],
                 gflops=1.5, mAP_inherited=0.2, error='an earlier failure')
    assert not f.retrained
    res = TrialResult(arch=f.arch, mAP=0.31, mAP_50=0.6, input_size=[160, 120], flops=1.6e9, params=4.2e6,
                      latency_ms=40.0, device='cpu', train_seconds=100.0)
    f.record_retraining(res, 'E0/retrain', {'optim_wrapper.optimizer.lr': 0.01}, 300)
    assert f.retrained and f.error is None
    assert (f.mAP_retrained, f.params, f.gflops_thop, f.retrain_iters) == (0.31, 4.2, 1.6, 300)
    assert Finalist.from_dict(f.to_dict()) == f
    assert f.to_dict()['error'] is None and f.to_dict()['checkpoint'] is None  # unset fields are null
