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
