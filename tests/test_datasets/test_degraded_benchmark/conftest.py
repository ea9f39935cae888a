"""A degraded copy of the NYUD fixture's val split, shared by the tests."""
import pytest

from mmallnet.datasets import make_degraded_benchmark


@pytest.fixture
def nyud_copy(nyud_root, tmp_path):
    """The fixture's val split with a degraded copy of every default set."""
    out = str(tmp_path / 'NYUDv2_degraded')
    manifest = make_degraded_benchmark(
        dict(type='NYUDMultiTaskDataset', data_root=nyud_root['root'],
             split='val'), out, progress=False)
    return dict(nyud_root, out=out, manifest=manifest)
