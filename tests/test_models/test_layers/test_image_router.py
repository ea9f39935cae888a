"""Image router: gates, temperature, fixed high-pass, aux loss."""
import pytest
import torch

from mmallnet.models.layers import ImageRouter
from mmallnet.models.layers.image_router import cv_squared


def test_high_pass_is_a_fixed_buffer():
    router = ImageRouter(8, 4)
    names = dict(router.named_parameters())
    assert 'high_pass' not in names
    assert router.high_pass.requires_grad is False
    assert router.high_pass.shape == (8, 1, 3, 3)
    assert router.high_pass[0, 0, 1, 1] == 8
    assert router.high_pass.sum() == 0
    assert 'high_pass' not in router.state_dict()
    assert router.prior_scale.item() == 1


def test_gates_are_kept_probabilities():
    torch.manual_seed(0)
    router = ImageRouter(8, 4, top_k=2).eval()
    x = torch.randn(3, 8, 6, 6)
    r = router(x)
    assert r.indices.shape == r.gates.shape == (3, 2)
    torch.testing.assert_close(r.gates, r.probs.gather(1, r.indices))
    assert (r.gates.sum(1) < 1).all()  # not renormalised
    base, temp = router.logits(x)
    assert ((temp > 0.5) & (temp < 1.5)).all()
    torch.testing.assert_close(r.probs, (base / temp).softmax(-1))


def test_noise_only_in_training():
    torch.manual_seed(0)
    router = ImageRouter(8, 4)
    x = torch.randn(2, 8, 6, 6)
    router.eval()
    assert torch.equal(router(x).probs, router(x).probs)
    router.train()
    assert not torch.equal(router(x).probs, router(x).probs)
    router.use_noise = False
    assert torch.equal(router(x).probs, router(x).probs)


def test_aux_loss_pieces():
    router = ImageRouter(8, 4, complexity=[1., .5, .25, .125])
    uniform = torch.zeros(5, 4)
    std = torch.full((5, 1), .25)
    # Uniform routing: load is balanced, importance follows complexity.
    expected = 0.5 * cv_squared(torch.tensor([1., .5, .25, .125]))
    torch.testing.assert_close(
        router.aux_loss(uniform, uniform, std), expected)
    router.use_complexity_bias = False
    assert router.aux_loss(uniform, uniform, std).abs() < 1e-6
    # Everything on expert 0: both terms are large.
    skewed = torch.tensor([[5., 0., 0., 0.]]).repeat(5, 1)
    assert router.aux_loss(skewed, skewed, std) > 1
    router.imp_weight = router.load_weight = 0
    assert router.aux_loss(skewed, skewed, std) == 0


def test_bad_top_k():
    with pytest.raises(ValueError):
        ImageRouter(8, 4, top_k=5)
