"""Figure helpers shared by the reports."""
from pathlib import Path


def new_figure(*args, **kwargs):
    """``plt.subplots`` on the non-interactive Agg backend (reports run headless)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def style_axes(ax, xlabel: str, ylabel: str, title: str = '', legend_size=8) -> None:
    """Labels, a light grid and a lower-right legend, as every report plot has them."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc='lower right', fontsize=legend_size)


def save_figure(fig, path: Path) -> None:
    """Save ``fig`` to ``path`` atomically (a reader never sees half a PNG) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    fig.tight_layout()
    tmp = path.with_name('.' + path.name + '.tmp.png')
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
