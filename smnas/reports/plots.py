"""Figure helpers shared by the reports."""
from pathlib import Path


def new_figure(*args, **kwargs):
    """``plt.subplots`` on the non-interactive Agg backend (reports run headless)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: Path) -> None:
    """Save ``fig`` to ``path`` atomically (a reader never sees half a PNG) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    tmp = path.with_name('.' + path.name + '.tmp.png')
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
