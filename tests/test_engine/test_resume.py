"""find_resumable_checkpoint: last_checkpoint, its fallbacks and errors."""
import os.path as osp
import warnings

import pytest
import torch

from mmallnet.engine import (
    NoResumableCheckpointError,
    ResumeFallbackWarning,
    find_resumable_checkpoint,
    is_complete_checkpoint,
)


def save(folder, name: str, value: float = 1.0) -> str:
    """A small complete checkpoint (torch's zip format)."""
    path = osp.join(str(folder), name)
    torch.save(dict(state_dict=dict(w=torch.full((64, ), value))), path)
    return path


def truncate(path: str) -> None:
    """Cut the file in half, as a kill while writing it does."""
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def point_last_to(folder, path: str) -> None:
    (folder / 'last_checkpoint').write_text(path)


def test_is_complete_checkpoint(tmp_path):
    path = save(tmp_path, 'iter_1.pth')
    assert is_complete_checkpoint(path)
    assert not is_complete_checkpoint(str(tmp_path / 'missing.pth'))
    (tmp_path / 'empty.pth').write_bytes(b'')
    assert not is_complete_checkpoint(str(tmp_path / 'empty.pth'))
    (tmp_path / 'text.pth').write_bytes(b'not a zip file')
    assert not is_complete_checkpoint(str(tmp_path / 'text.pth'))
    truncate(path)
    assert not is_complete_checkpoint(path)


def test_last_checkpoint_complete_is_used(tmp_path):
    save(tmp_path, 'iter_9.pth')
    named = save(tmp_path, 'iter_4.pth')
    point_last_to(tmp_path, named + '\n')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert find_resumable_checkpoint(str(tmp_path)) == named


@pytest.mark.parametrize('damage', ['missing', 'empty', 'truncated'])
def test_broken_last_checkpoint_falls_back_to_newest_complete(
        tmp_path, damage):
    save(tmp_path, 'iter_2.pth')
    newest = save(tmp_path, 'iter_10.pth')  # 10 > 9 as numbers
    save(tmp_path, 'iter_9.pth')
    truncate(save(tmp_path, 'iter_11.pth'))
    broken = str(tmp_path / 'iter_12.pth')
    if damage == 'empty':
        open(broken, 'wb').close()
    elif damage == 'truncated':
        truncate(save(tmp_path, 'iter_12.pth'))
    point_last_to(tmp_path, broken)

    with pytest.warns(ResumeFallbackWarning) as record:
        assert find_resumable_checkpoint(str(tmp_path)) == newest
    assert len(record) == 1
    message = str(record[0].message)
    assert broken in message and newest in message


def test_no_complete_checkpoint_left_is_an_error(tmp_path):
    truncate(save(tmp_path, 'iter_3.pth'))
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    point_last_to(tmp_path, str(tmp_path / 'iter_4.pth'))
    with pytest.raises(NoResumableCheckpointError) as error:
        find_resumable_checkpoint(str(tmp_path))
    message = str(error.value)
    assert f'Cannot resume the run in {tmp_path}' in message
    for name in ('iter_4.pth', 'iter_3.pth', 'iter_2.pth'):
        assert str(tmp_path / name) in message


def test_last_checkpoint_naming_a_missing_file_only_is_an_error(tmp_path):
    point_last_to(tmp_path, str(tmp_path / 'epoch_1.pth'))
    with pytest.raises(NoResumableCheckpointError,
                       match='epoch_1.pth'):
        find_resumable_checkpoint(str(tmp_path))


def test_without_last_checkpoint_the_newest_complete_is_used(tmp_path):
    save(tmp_path, 'epoch_3.pth')
    newest = save(tmp_path, 'epoch_5.pth')
    save(tmp_path, 'best_mIoU_iter_7.pth')  # not a step checkpoint
    with pytest.warns(ResumeFallbackWarning,
                      match='last_checkpoint is missing or empty'):
        assert find_resumable_checkpoint(str(tmp_path)) == newest


def test_no_checkpoint_at_all_trains_from_scratch(tmp_path):
    (tmp_path / '.tmp-ckpt-iter_1.pth.42').write_bytes(b'partial')
    (tmp_path / 'iter_1.pth.bak').write_bytes(b'other')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert find_resumable_checkpoint(str(tmp_path)) is None
        assert find_resumable_checkpoint(str(tmp_path / 'absent')) is None


def test_fallback_looks_in_the_named_out_dir(tmp_path):
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    newest = save(out_dir, 'iter_6.pth')
    broken = save(out_dir, 'iter_8.pth')
    truncate(broken)
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    point_last_to(work_dir, broken)
    with pytest.warns(ResumeFallbackWarning):
        assert find_resumable_checkpoint(str(work_dir)) == newest
