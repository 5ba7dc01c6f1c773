"""Isolated jobs: their own process group, killed whole on a timeout, logged."""
import os
import subprocess
import sys
import time

from smnas.engine.jobs import failure_excerpt, run_isolated
from smnas.utils.paths import REPO_ROOT

SLEEPER = 'import time; time.sleep(60)'


def _gone(pid: int) -> bool:
    for _ in range(100):
        stat = subprocess.run(['ps', '-p', str(pid), '-o', 'stat='], capture_output=True, text=True)
        if stat.stdout.strip() in ('', 'Z'):
            return True
        time.sleep(0.1)
    return False


def test_a_job_that_runs_too_long_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / 'grandchild.pid'
    # The child starts a grandchild that would outlive it, then sleeps past the timeout.
    code = (f'import subprocess, sys, time; p = subprocess.Popen([sys.executable, "-c", {SLEEPER!r}]); '
            f'open({str(pid_file)!r}, "w").write(str(p.pid)); time.sleep(60)')
    t0 = time.time()
    rc, cause = run_isolated([sys.executable, '-c', code], tmp_path / 'job.log', timeout=3)
    assert rc == -9 and cause.startswith('timeout') and time.time() - t0 < 30
    # the whole group was killed: the grandchild is gone too
    assert _gone(int(pid_file.read_text())), 'the grandchild outlived its job'


def test_a_job_logs_and_returns_its_exit_code(tmp_path):
    log = tmp_path / 'job.log'
    rc, cause = run_isolated([sys.executable, '-c', 'print("hello"); raise SystemExit(3)'], log)
    assert (rc, cause) == (3, None) and 'hello' in log.read_text()


def test_a_failure_excerpt_names_each_exception_far_above_the_end(tmp_path):
    log = tmp_path / 'job.log'
    worker = ['Traceback (most recent call last):', '  File "train.py", line 3, in <module>',
              '[rank1]: ValueError: bad width 7']
    launcher = ['Traceback (most recent call last):', '  File "run.py", line 9, in main',
                'torch.distributed.elastic.multiprocessing.errors.ChildFailedError:',
                *(f'  detail {i}' for i in range(100))]
    log.write_text('\n'.join(['config line'] * 50 + worker + [''] * 3 + worker + launcher) + '\n')
    text = failure_excerpt(log, last_lines=5)
    errors, last = text.split('last lines:')
    # each distinct error once, in order; the 100 lines between them and the end left out
    assert errors.split('\n')[1:3] == ['  [rank1]: ValueError: bad width 7',
                                       '  torch.distributed.elastic.multiprocessing.errors.ChildFailedError:']
    assert last.split('\n')[1:] == [f'    detail {i}' for i in range(95, 100)]
    assert 'detail 94' not in text and 'config line' not in text
    # no exception: only the last lines; no log: nothing
    log.write_text('a\nb\n\nc\n')
    assert failure_excerpt(log, last_lines=2) == 'last lines:\n  b\n  c'
    assert failure_excerpt(tmp_path / 'missing.log') == ''


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


def test_run_parallel_returns_in_order_and_runs_sequentially_with_one_worker():
    from smnas.engine.jobs import run_parallel

    assert run_parallel([lambda i=i: i * i for i in range(5)], 2) == [0, 1, 4, 9, 16]
    order = []
    run_parallel([lambda i=i: order.append(i) for i in range(3)], 1)
    assert order == [0, 1, 2]


def test_a_stopped_run_parallel_kills_its_jobs_and_starts_no_other(tmp_path):
    """SIGTERM to a process running jobs side by side: the running ones are killed with
    their groups, the queued ones never start, each job's thread ends with JobsStopped
    (not a failure), and the process exits promptly (a plain thread pool would wait for
    every queued job first)."""
    script = tmp_path / 'parallel.py'
    script.write_text(f'''
import signal, sys
from pathlib import Path
from smnas.engine.jobs import JobsStopped, run_isolated, run_parallel

signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
root = Path({str(tmp_path)!r})

def job(i):
    code = ("import os, pathlib, time; "
            f"pathlib.Path({{str(root)!r}}, 'started{{i}}').write_text(str(os.getpid())); time.sleep(60)")
    try:
        run_isolated([sys.executable, '-c', code])
    except JobsStopped:
        (root / f'stopped{{i}}').touch()
        raise

run_parallel([lambda i=i: job(i) for i in range(4)], 2)
''')
    proc = subprocess.Popen([sys.executable, str(script)], cwd=str(tmp_path),
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    for _ in range(300):
        if len(list(tmp_path.glob('started*'))) == 2:
            break
        time.sleep(0.1)
    pids = [int(p.read_text()) for p in sorted(tmp_path.glob('started*'))]
    assert len(pids) == 2
    t0 = time.time()
    proc.terminate()
    assert proc.wait(timeout=30) == 143 and time.time() - t0 < 20
    assert all(_gone(pid) for pid in pids)
    assert sorted(p.name for p in tmp_path.glob('started*')) == ['started0', 'started1']  # 2, 3 never ran
    assert sorted(p.name for p in tmp_path.glob('stopped*')) == ['stopped0', 'stopped1']
