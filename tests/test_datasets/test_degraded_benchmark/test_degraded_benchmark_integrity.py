"""Stored images are checked against the manifest's SHA-256, once each."""
import hashlib
import json
import os
import os.path as osp
import re
import shutil

import pytest

from mmallnet.datasets import DegradedBenchmarkDataset, NYUDMultiTaskDataset
from mmallnet.datasets.degraded_benchmark import integrity

SETS = ['noise_15', 'noise_25', 'noise_50', 'rain', 'fog', 'blur']


@pytest.fixture
def hashed(monkeypatch):
    """Record the path of every file hashed; start from an empty cache."""
    integrity.clear_sha256_cache()
    paths = []
    real = integrity.file_sha256

    def counting(path):
        paths.append(path)
        return real(path)

    monkeypatch.setattr(integrity, 'file_sha256', counting)
    yield paths
    integrity.clear_sha256_cache()


def _swap(src: str, dst: str) -> None:
    """Replace ``dst`` by a copy of ``src``, with a later mtime."""
    stat = os.stat(dst)
    shutil.copyfile(src, dst)
    os.utime(dst, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def _benchmark(copy: dict, **kwargs) -> DegradedBenchmarkDataset:
    return DegradedBenchmarkDataset(
        dataset_type='NYUDMultiTaskDataset', data_root=copy['root'],
        split='val', tasks=['depth'], degraded_root=copy['out'], **kwargs)


def test_unchanged_copy_passes_hashing_each_image_once(nyud_copy, hashed):
    out = nyud_copy['out']
    dataset = NYUDMultiTaskDataset(
        data_root=nyud_copy['root'], split='val', tasks=['depth'],
        degraded_root=out, degradation='noise_25')
    assert len(dataset) == 2
    assert hashed == [
        osp.join(out, 'noise_25', 'images', f'{i}.png')
        for i in ('0003', '0004')
    ]
    # every set: the two noise_25 files are not hashed again
    benchmark = _benchmark(nyud_copy)
    assert len(benchmark) == 2 * 7
    assert len(hashed) == 2 * 6 and len(set(hashed)) == 2 * 6
    assert sorted(hashed) == sorted(
        osp.join(out, s, 'images', f'{i}.png') for s in SETS
        for i in ('0003', '0004'))
    # built again in the same process: nothing is hashed
    _benchmark(nyud_copy)
    assert len(hashed) == 12


def test_swapped_image_raises_naming_set_id_and_file(nyud_copy, hashed):
    out = nyud_copy['out']
    _benchmark(nyud_copy)  # verified and cached
    target = osp.join(out, 'noise_25', 'images', '0004.png')
    other = osp.join(out, 'rain', 'images', '0004.png')  # a valid PNG
    _swap(other, target)
    expected = nyud_copy['manifest']['images']['noise_25']['0004']['sha256']
    with open(other, 'rb') as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    assert actual != expected
    message = (f"NYUDMultiTaskDataset: stored image {target} (set "
               f"'noise_25', id '0004') does not match the manifest.json of "
               f'{out}: sha256 {actual} != recorded {expected}.')
    with pytest.raises(ValueError, match=re.escape(message)):
        _benchmark(nyud_copy)
    with pytest.raises(ValueError, match=re.escape(message)):
        NYUDMultiTaskDataset(
            data_root=nyud_copy['root'], split='val', tasks=['depth'],
            degraded_root=out, degradation='noise_25')
    # the rewritten file is hashed again (once), the others come from the
    # cache
    assert hashed[12:] == [target]
    # the other sets still pass
    assert len(_benchmark(nyud_copy, sets=['rain', 'fog'])) == 6
    # the check can be turned off
    hashed.clear()
    integrity.clear_sha256_cache()
    dataset = _benchmark(nyud_copy, verify_sha256=False)
    assert len(dataset) == 14 and hashed == []
    # and is on again for the next dataset
    with pytest.raises(ValueError, match="set 'noise_25', id '0004'"):
        _benchmark(nyud_copy, sets=['noise_25'], include_clean=False)


def test_record_without_sha256_raises(nyud_copy, hashed):
    path = osp.join(nyud_copy['out'], 'manifest.json')
    with open(path) as f:
        manifest = json.load(f)
    del manifest['images']['fog']['0003']['sha256']
    with open(path, 'w') as f:
        json.dump(manifest, f)
    with pytest.raises(ValueError,
                       match=r"records no sha256 for id '0003' of set 'fog'"):
        _benchmark(nyud_copy, sets=['fog'])
    assert hashed == []
    assert len(_benchmark(nyud_copy, sets=['fog'], verify_sha256=False)) == 4


def test_many_files_are_hashed_by_threads(tmp_path, hashed):
    files = []
    for i in range(40):
        path = str(tmp_path / f'{i:02d}.png')
        data = bytes([i]) * (1000 + i)
        with open(path, 'wb') as f:
            f.write(data)
        files.append((f'{i:02d}', path, hashlib.sha256(data).hexdigest()))
    integrity.verify_stored_images('ROOT', 'fog', files, 'Owner')
    assert sorted(hashed) == sorted(p for _, p, _ in files)
    _swap(files[1][1], files[30][1])
    with pytest.raises(ValueError, match=re.escape(
            f"Owner: stored image {files[30][1]} (set 'fog', id '30') does "
            f'not match the manifest.json of ROOT: sha256 {files[1][2]} != '
            f'recorded {files[30][2]}.')):
        integrity.verify_stored_images('ROOT', 'fog', files, 'Owner')
    assert len(hashed) == 41
