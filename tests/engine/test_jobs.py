"""Isolated jobs: their own process group, killed whole on a timeout, logged."""
import subprocess
import sys
import time

from smnas.engine.jobs import run_isolated

SLEEPER = 'import time; time.sleep(60)'


def test_a_job_that_runs_too_long_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / 'grandchild.pid'
    # The child starts a grandchild that would outlive it, then sleeps past the timeout.
    code = (f'import subprocess, sys, time; p = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}]); '
            f'open({str(pid_file)!r}, "w").write(str(p.pid)); time.sleep(60)')
    t0 = time.time()
    rc, cause = run_isolated([sys.executable, '-c', code], tmp_path / 'job.log', timeout=3)
    assert rc == -9 and cause.startswith('timeout') and time.time() - t0 < 30
    grandchild = int(pid_file.read_text())
    for _ in range(50):  # the whole group was killed: the grandchild is gone too
        stat = subprocess.run(['ps', '-p', str(grandchild), '-o', 'stat='], capture_output=True, text=True)
        if stat.stdout.strip() in ('', 'Z'):
            break
        time.sleep(0.1)
    else:
        raise AssertionError('the grandchild outlived its job')


def test_a_job_logs_and_returns_its_exit_code(tmp_path):
    log = tmp_path / 'job.log'
    rc, cause = run_isolated([sys.executable, '-c', 'print("hello"); raise SystemExit(3)'], log)
    assert (rc, cause) == (3, None) and 'hello' in log.read_text()


def test_log_progress_reports_each_new_iteration_line(tmp_path):
    from smnas.engine.jobs import LogProgress

    log = tmp_path / 'train.log'
    seen = []
    follow = LogProgress(log, lambda *a: seen.append(a), poll=60)
    follow.read()  # no file yet: nothing, no error
    line = ('12/03 10:00:00 - mmengine - INFO - Iter(train) [{0:>3}/300]  base_lr: 1.0e-02 lr: 1.0e-02  '
            'eta: {1}  time: 1.3000  data_time: 0.0100  memory: 0  loss: 1.2\n')
    log.write_text(line.format(25, '0:05:12') + 'unrelated\n' + line.format(50, '0:04:40'))
    follow.read()
    with open(log, 'a') as f:
        f.write(line.format(75, '1 day, 0:00:03')[:40])  # a half-written line waits
    follow.read()
    assert seen == [(50, 300, '0:04:40')]
    with open(log, 'a') as f:
        f.write(line.format(75, '1 day, 0:00:03')[40:])
    follow.read()
    follow.read()  # nothing new: no repeat
    assert seen == [(50, 300, '0:04:40'), (75, 300, '1 day, 0:00:03')]
