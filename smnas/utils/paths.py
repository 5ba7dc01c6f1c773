"""Where the repository's own files are (configs ship with the source checkout)."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO_ROOT / 'configs'


def config_path(rel: str) -> Path:
    """Absolute path of ``configs/<rel>``.

    Raises:
        FileNotFoundError: the repository's configs are not next to the package
            (smnas installed without its source tree).
    """
    path = CONFIG_DIR / rel
    if not path.is_file():
        raise FileNotFoundError(f'{path} not found: smnas needs its source checkout '
                                f'(pip install -e .)')
    return path
