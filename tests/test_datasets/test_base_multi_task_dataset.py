"""BaseMultiTaskDataset: split file, file checks and the degraded copy."""
import hashlib
import json
import os
import os.path as osp
import re

import cv2
import numpy as np
import pytest

from mmallnet.datasets import (
    BaseMultiTaskDataset,
    NYUDMultiTaskDataset,
    PascalContextMultiTaskDataset,
    SynthScenesDataset,
)
from mmallnet.datasets.degraded_benchmark.manifest import (
    FORMAT_VERSION,
    MANIFEST_FORMAT,
)


class ToyDataset(BaseMultiTaskDataset):
    """``images/<id>.png`` listed by ``lists/<split>.txt``."""

    SPLIT_DIR = 'lists'

    def parse_data_info(self, img_id: str) -> dict:
        img_path = osp.join(self.data_root, 'images', img_id + '.png')
        self.check_file(img_path, img_id, 'image file')
        return dict(img_path=img_path, img_id=img_id)


@pytest.fixture
def toy_root(tmp_path):
    root = str(tmp_path / 'toy')
    os.makedirs(osp.join(root, 'images'))
    os.makedirs(osp.join(root, 'lists'))
    for img_id in ('a', 'b'):
        cv2.imwrite(osp.join(root, 'images', img_id + '.png'),
                    np.zeros((2, 3, 3), np.uint8))
    with open(osp.join(root, 'lists', 'train.txt'), 'w') as f:
        f.write(' a\n\nb \n')
    with open(osp.join(root, 'lists', 'val.txt'), 'w') as f:
        f.write('b\n')
    with open(osp.join(root, 'lists', 'empty.txt'), 'w') as f:
        f.write('\n \n')
    return root


def _infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_the_datasets_share_the_base():
    for cls in (NYUDMultiTaskDataset, PascalContextMultiTaskDataset,
                SynthScenesDataset):
        assert issubclass(cls, BaseMultiTaskDataset)
    assert NYUDMultiTaskDataset.SPLIT_DIR == 'gt_sets'
    assert PascalContextMultiTaskDataset.SPLIT_DIR == osp.join(
        'ImageSets', 'Context')
    with pytest.raises(TypeError, match='abstract'):
        BaseMultiTaskDataset(data_root='.')


def test_split_file_gives_the_data_list(toy_root):
    dataset = ToyDataset(data_root=toy_root)
    assert dataset.split == 'train'
    assert dataset.ann_file == osp.join(toy_root, 'lists', 'train.txt')
    assert dataset.degraded_root is None and dataset.degradation is None
    image = osp.join(toy_root, 'images', '{}.png')
    # stripped ids in file order, blank lines skipped
    assert _infos(dataset) == [
        dict(img_path=image.format('a'), img_id='a', sample_idx=0),
        dict(img_path=image.format('b'), img_id='b', sample_idx=1),
    ]
    val = ToyDataset(data_root=toy_root, split='val')
    assert [info['img_id'] for info in _infos(val)] == ['b']
    # ann_file wins over the split name
    other = ToyDataset(data_root=toy_root, split='val',
                       ann_file=osp.join('lists', 'train.txt'))
    assert [info['img_id'] for info in _infos(other)] == ['a', 'b']


def test_missing_file_names_the_file(toy_root):
    path = osp.join(toy_root, 'images', 'b.png')
    os.remove(path)
    split = osp.join(toy_root, 'lists', 'train.txt')
    message = (f"ToyDataset: image file {path} listed by {split} (id 'b') "
               'does not exist.')
    with pytest.raises(FileNotFoundError, match=f'^{re.escape(message)}$'):
        ToyDataset(data_root=toy_root)


def test_split_file_errors(toy_root):
    split = osp.join(toy_root, 'lists', 'test.txt')
    message = f"ToyDataset: split file not found: {split} (split='test')."
    with pytest.raises(FileNotFoundError, match=f'^{re.escape(message)}$'):
        ToyDataset(data_root=toy_root, split='test')
    with pytest.raises(ValueError, match='empty.txt lists no ids'):
        ToyDataset(data_root=toy_root, split='empty')


def test_degraded_copy_needs_both_arguments(toy_root):
    message = ('ToyDataset: give both `degraded_root` and `degradation` or '
               'neither.')
    for kwargs in (dict(degraded_root=toy_root), dict(degradation='fog')):
        with pytest.raises(ValueError, match=f'^{re.escape(message)}$'):
            ToyDataset(data_root=toy_root, **kwargs)


def _write_copy(out: str) -> dict:
    """A hand-made degraded copy of the toy train split: set noise_25."""
    params = {
        'a': {'sigma': 25.0, 'seed': 0},
        'b': {'sigma': 25.0, 'seed': 0, 'note': [1, 2]},
    }
    manifest = dict(
        format=MANIFEST_FORMAT, format_version=FORMAT_VERSION, settings={},
        ids=['a', 'b'], sets={'noise_25': dict(type='noise', level=25)},
        images={'noise_25': {
            i: dict(sha256=hashlib.sha256(b'').hexdigest(),  # empty files
                    degradation_params=p)
            for i, p in params.items()
        }})
    os.makedirs(osp.join(out, 'noise_25', 'images'))
    for img_id in params:
        open(osp.join(out, 'noise_25', 'images', img_id + '.png'),
             'wb').close()
    with open(osp.join(out, 'manifest.json'), 'w') as f:
        json.dump(manifest, f)
    return params


def test_degraded_copy_is_attached(toy_root, tmp_path):
    out = str(tmp_path / 'copy')
    params = _write_copy(out)
    dataset = ToyDataset(data_root=toy_root, degraded_root=out,
                         degradation='noise_25')
    assert (dataset.degraded_root, dataset.degradation) == (out, 'noise_25')
    image = osp.join(toy_root, 'images', '{}.png')
    stored = osp.join(out, 'noise_25', 'images', '{}.png')
    assert _infos(dataset) == [
        dict(img_path=image.format(i), img_id=i,
             degraded_img_path=stored.format(i), degradation_type='noise_25',
             degradation_params=params[i], sample_idx=k)
        for k, i in enumerate('ab')
    ]
    # the owner of the error is the dataset class
    with pytest.raises(KeyError, match="ToyDataset: degradation 'fog' is "
                       r"not a set .*\['noise_25'\]"):
        ToyDataset(data_root=toy_root, degraded_root=out, degradation='fog')
    os.remove(osp.join(out, 'noise_25', 'images', 'b.png'))
    with pytest.raises(FileNotFoundError, match='ToyDataset: degraded image'):
        ToyDataset(data_root=toy_root, degraded_root=out,
                   degradation='noise_25')
