"""CTI: task tokens, cross-task token attention, restoration feedback."""
from typing import Dict, Tuple

import pytest
import torch
import torch.nn as nn
from torch import Tensor

from mmallnet.models.layers import CrossTaskInteraction
from mmallnet.utils import get_model_complexity

TASKS = ('semseg', 'depth', 'normals')


def make_inputs(batch: int,
                channels: int = 16,
                size: Tuple[int, int] = (6, 5),
                seed: int = 0) -> Tuple[Tensor, Dict[str, Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    restoration = torch.randn(batch, channels, *size, generator=gen)
    feats = {
        task: torch.randn(batch, channels, *size, generator=gen)
        for task in TASKS
    }
    return restoration, feats


def make_cti(**kwargs) -> CrossTaskInteraction:
    torch.manual_seed(0)
    kwargs.setdefault('num_heads', 2)
    return CrossTaskInteraction(16, TASKS, **kwargs)


@pytest.mark.parametrize('batch', [1, 3])
@pytest.mark.parametrize('num_tokens', [None, 8])
def test_output_shapes(batch, num_tokens):
    cti = make_cti(num_tokens=num_tokens)
    n = 16 if num_tokens is None else num_tokens
    restoration, feats = make_inputs(batch)
    out, maps, tokens = cti(restoration, feats, return_tokens=True)
    assert out.shape == restoration.shape
    assert tuple(maps) == TASKS and tuple(tokens) == TASKS
    for task in TASKS:
        assert maps[task].shape == (batch, n, 6, 5)
        assert tokens[task].shape == (batch, n, 16)
    assert len(cti(restoration, feats)) == 2


def test_initial_values():
    torch.manual_seed(0)
    cti = CrossTaskInteraction(64, TASKS, num_heads=4)
    assert cti.num_tokens == 64 and cti.attn_channels == 64
    assert cti.task_embeds.shape == (3, 64, 64)
    assert cti.task_embeds.abs().max() <= 0.04  # truncated at 2 std
    # The std of a normal truncated at 2 std is 0.88 of its std.
    assert cti.task_embeds.std().item() == pytest.approx(0.0176, rel=0.05)
    assert cti.image_token_scale.item() == pytest.approx(0.1)
    assert cti.feedback_scale.item() == 0
    assert CrossTaskInteraction(512, TASKS).attn_channels == 256


@pytest.mark.parametrize('batch', [1, 3])
def test_zero_feedback_returns_the_restoration_features(batch):
    cti = make_cti()
    restoration, feats = make_inputs(batch)
    out, _ = cti(restoration, feats)
    assert torch.equal(out, restoration)
    with torch.no_grad():
        cti.feedback_scale.fill_(0.5)
    out, maps = cti(restoration, feats)
    expected = restoration + 0.5 * cti.feedback(
        torch.stack(list(maps.values())).mean(dim=0))
    torch.testing.assert_close(out, expected)
    assert not torch.allclose(out, restoration)


def test_attention_rows_sum_to_one_over_all_tasks_tokens():
    cti = make_cti(num_tokens=8)
    _, feats = make_inputs(3)
    tokens = cti.task_tokens(feats, 3).flatten(1, 2)
    attn = cti.cross_task_attention(tokens)
    assert attn.shape == (3, 24, 24)
    assert (attn > 0).all()
    torch.testing.assert_close(attn.sum(dim=-1), torch.ones(3, 24))


def test_attention_mixes_tasks(monkeypatch):
    """Task A's input reaches task B's maps, and only through ``A``."""
    cti = make_cti(num_tokens=8).eval()
    restoration, feats = make_inputs(2)
    changed = dict(feats, semseg=feats['semseg'] + 3.0)
    _, maps = cti(restoration, feats)
    _, maps_changed = cti(restoration, changed)
    for task in ('depth', 'normals'):
        assert not torch.allclose(maps[task], maps_changed[task])

    monkeypatch.setattr(cti, 'cross_task_attention',
                        lambda tokens: tokens.new_zeros(
                            tokens.shape[0], tokens.shape[1],
                            tokens.shape[1]))
    _, maps = cti(restoration, feats)
    _, maps_changed = cti(restoration, changed)
    for task in ('depth', 'normals'):
        torch.testing.assert_close(maps[task], maps_changed[task])
    assert not torch.allclose(maps['semseg'], maps_changed['semseg'])


def test_without_image_tokens_the_tokens_ignore_the_image():
    cti = make_cti(use_image_tokens=False)
    assert not hasattr(cti, 'image_token_mlps')
    assert not hasattr(cti, 'image_token_scale')
    restoration, feats = make_inputs(3)
    tokens = cti.task_tokens(feats, 3)
    for i in range(3):
        assert torch.equal(tokens[i], cti.task_embeds)
    out, maps = cti(restoration, feats)
    out_empty, maps_empty = cti(restoration, {})
    assert torch.equal(out, out_empty)
    for task in TASKS:
        assert torch.equal(maps[task], maps_empty[task])


def test_image_tokens_depend_on_the_pooled_task_features():
    cti = make_cti()
    _, feats = make_inputs(2)
    tokens = cti.task_tokens(feats, 2)
    assert not torch.allclose(tokens[0], tokens[1])
    pooled = feats['depth'].mean(dim=(2, 3))
    expected = cti.task_embeds[1] + 0.1 * cti.image_token_mlps['depth'](
        pooled)[:, None]
    torch.testing.assert_close(tokens[:, 1], expected)


def test_missing_task_and_bad_tasks_raise():
    cti = make_cti()
    restoration, feats = make_inputs(1)
    feats.pop('depth')
    with pytest.raises(KeyError, match='depth'):
        cti(restoration, feats)
    with pytest.raises(ValueError, match='unique'):
        CrossTaskInteraction(16, ('a', 'a'))
    with pytest.raises(ValueError, match='at least one'):
        CrossTaskInteraction(16, ())


@pytest.mark.parametrize('batch', [1, 3])
def test_train_eval_deterministic_and_gradients(batch):
    cti = make_cti(num_tokens=8)
    restoration, feats = make_inputs(batch)
    cti.eval()
    with torch.no_grad():
        first = cti(restoration, feats)
        second = cti(restoration, feats)
    assert torch.equal(first[0], second[0])
    for task in TASKS:
        assert torch.equal(first[1][task], second[1][task])

    cti.train()
    restoration.requires_grad_(True)
    for feat in feats.values():
        feat.requires_grad_(True)
    out, maps = cti(restoration, feats)
    torch.testing.assert_close(maps['depth'], first[1]['depth'])
    (out.square().sum() + sum(m.square().sum()
                              for m in maps.values())).backward()
    assert restoration.grad.abs().sum() > 0
    for feat in feats.values():
        assert feat.grad.abs().sum() > 0
    # gamma_P = 0: the feedback conv gets its gradient once gamma_P moves.
    for name, param in cti.named_parameters():
        assert param.grad is not None, name
        if not name.startswith('feedback.'):
            assert param.grad.abs().sum() > 0, name


class _Traceable(nn.Module):
    """Tensor-only interface for the tracer."""

    def __init__(self, cti: CrossTaskInteraction) -> None:
        super().__init__()
        self.cti = cti

    def forward(self, restoration: Tensor, *feats: Tensor) -> Tuple[Tensor]:
        out, maps = self.cti(restoration, dict(zip(self.cti.tasks, feats)))
        return (out, ) + tuple(maps.values())


def test_cost_is_affine_in_the_number_of_pixels():
    """FLOPs(HW) = a + b * HW exactly: doubling HW adds b * HW."""
    model = _Traceable(make_cti(num_tokens=8)).eval()
    refine_inputs = []
    model.cti.refine.register_forward_hook(
        lambda module, args, out: refine_inputs.append(args[0].shape))
    flops = []
    for size in ((4, 4), (4, 8), (8, 8)):
        restoration, feats = make_inputs(1, size=size)
        result = get_model_complexity(
            model, (restoration, *feats.values()),
            with_activations=False,
            count_softmax=True)
        assert result['flops_by_operator']['matmul'] > 0
        assert 'aten::einsum' not in result['unsupported_ops']
        flops.append(result['flops'])
    assert flops[1] - flops[0] > 0
    assert flops[2] - flops[1] == 2 * (flops[1] - flops[0])
    # Tasks folded into the batch for the shared refinement block.
    assert refine_inputs[-1] == (3, 8, 8, 8)
