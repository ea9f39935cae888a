"""configs/*/metafile.yaml: every config listed once, under its own name,
in a collection of its file, with a README that exists."""
import glob
import os.path as osp
from numbers import Number

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METAFILES = sorted(glob.glob(osp.join(REPO, 'configs', '*', 'metafile.yaml')))


def config_files():
    """Every config of configs/<algorithm>/ (not _base_), repo-relative."""
    paths = glob.glob(osp.join(REPO, 'configs', '*', '**', '*.py'),
                      recursive=True)
    return sorted(osp.relpath(p, REPO) for p in paths
                  if osp.relpath(p, REPO).split(osp.sep)[1] != '_base_')


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_every_config_is_listed_once():
    listed = []
    for path in METAFILES:
        for model in load(path)['Models']:
            listed.append(model['Config'])
    assert sorted(listed) == config_files()


@pytest.mark.parametrize('path', METAFILES,
                         ids=lambda p: osp.basename(osp.dirname(p)))
def test_metafile_entries_are_consistent(path):
    meta = load(path)
    folder = osp.relpath(osp.dirname(path), REPO)
    collections = {c['Name']: c for c in meta['Collections']}
    for collection in collections.values():
        assert osp.isfile(osp.join(REPO, collection['README']))
        assert collection['README'].startswith(folder + '/')
    for model in meta['Models']:
        config = model['Config']
        assert config.startswith(folder + '/'), config
        assert model['Name'] == osp.splitext(osp.basename(config))[0]
        assert model['In Collection'] in collections
        results = model.get('Results')
        for result in ([results] if isinstance(results, dict) else
                       results or []):
            assert result['Metrics'], model['Name']
            for name, value in result['Metrics'].items():
                assert isinstance(value, Number), (model['Name'], name)
