"""The READMEs' links lead somewhere: in-page anchors name a heading, relative links a file."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ['README.md', 'benchmarks/README.md']
LINK = re.compile(r'\]\(([^)\s]+)\)')


def heading_anchor(heading):
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens.

    Args:
        heading (str): the heading's text, without its leading ``#``.

    Returns:
        str: the anchor, without ``#``.
    """
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def anchors(text):
    """Every heading's anchor in a Markdown text, outside code blocks (duplicates get -1, -2...)."""
    seen, out, fenced = {}, set(), False
    for line in text.splitlines():
        if line.lstrip().startswith('```'):
            fenced = not fenced
            continue
        m = re.match(r'(#{1,6}) (.+)', line)
        if m and not fenced:
            a = heading_anchor(m.group(2))
            n = seen.get(a, 0)
            seen[a] = n + 1
            out.add(a if n == 0 else f'{a}-{n}')
    return out


def test_heading_anchor_follows_github():
    assert heading_anchor("The modular stage's cost ratio (`--cost-json`)") == \
        'the-modular-stages-cost-ratio---cost-json'
    assert heading_anchor('bench_amp.py: mixed precision') == 'bench_amppy-mixed-precision'
    assert anchors('# A\n```\n# not a heading\n```\n## A\n') == {'a', 'a-1'}


@pytest.mark.parametrize('doc', DOCS)
def test_links_resolve(doc):
    path = ROOT / doc
    text = path.read_text()
    own = anchors(text)
    broken = []
    for target in LINK.findall(text):
        if target.startswith(('http://', 'https://', 'mailto:')):
            continue
        file, _, anchor = target.partition('#')
        if file and not (path.parent / file).exists():
            broken.append(target)
        elif not file and anchor not in own:
            broken.append(target)
    assert not broken, f'{doc}: links to nothing: {broken}'
