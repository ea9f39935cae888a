"""DenseRestorer and MaERestorer: presets, shapes, identity at
initialisation and sparse expert dispatch."""
import pytest
import torch

from mmallnet.models.restorers import (
    RESTORER_ARCHS,
    DenseRestorer,
    MaERestorer,
)

NETWORKS = (DenseRestorer, MaERestorer)


def build(cls, **kwargs):
    torch.manual_seed(0)
    return cls(arch=kwargs.pop('arch', 'tiny'), **kwargs)


def test_presets_are_as_specified():
    assert RESTORER_ARCHS['base'] == dict(
        embed_dims=48, encoder_blocks=(4, 6, 6, 8), decoder_blocks=(2, 4, 4),
        refinement_blocks=4, num_heads=(1, 2, 4, 8))
    assert RESTORER_ARCHS['S'] == dict(RESTORER_ARCHS['base'], embed_dims=32)
    assert RESTORER_ARCHS['tiny'] == dict(
        embed_dims=16, encoder_blocks=(1, 1, 1, 1), decoder_blocks=(1, 1, 1),
        refinement_blocks=1, num_heads=(1, 2, 4, 8))


@pytest.mark.parametrize('cls', NETWORKS)
@pytest.mark.parametrize('arch, width', [('base', 48), ('S', 32),
                                         ('tiny', 16)])
def test_built_network_follows_preset(cls, arch, width):
    net = build(cls, arch=arch)
    settings = RESTORER_ARCHS[arch]
    assert net.widths == [width, 2 * width, 4 * width, 8 * width]
    assert net.stem.out_channels == width
    assert [len(e) for e in net.encoders] + [len(net.latent)] == list(
        settings['encoder_blocks'])
    assert [len(d) for d in net.decoders] == list(settings['decoder_blocks'])
    assert len(net.refinement) == settings['refinement_blocks']
    assert [e[0].attn.num_heads for e in net.encoders] == [1, 2, 4]
    assert net.latent[0].attn.num_heads == 8
    # MoCE-IR's GDFN expansion is 2, Restormer's (dense) 2.66.
    expansion = 2. if cls is MaERestorer else 2.66
    assert net.encoders[0][0].ffn.hidden_channels == int(width * expansion)
    if cls is MaERestorer:
        assert len(net.mixtures) == 3
        for level, mixture in enumerate(net.mixtures):
            assert len(mixture.experts) == 4
            assert mixture.router.top_k == 1
            c = width * 2**level
            assert [e.in_proj.in_channels for e in mixture.experts] == [c] * 4
            # widths C/1..C/8 -> branch channels half of that
            assert [e.branch_channels for e in mixture.experts] == [
                max(c // d // 2, 1) for d in (1, 2, 4, 8)
            ]


@pytest.mark.parametrize('cls', NETWORKS)
@pytest.mark.parametrize('size', [(37, 53), (5, 7), (32, 40)])
def test_odd_sizes_keep_shape(cls, size):
    net = build(cls, zero_init_last=False).eval()
    img = torch.rand(2, 3, *size)
    with torch.no_grad():
        out, routing = net.restore_with_routing(img)
    assert out.shape == img.shape
    assert torch.isfinite(out).all()
    assert not torch.equal(out, img)
    if cls is MaERestorer:
        assert routing.decisions.shape == (2, 3, 1)
        assert routing.probs.shape == (2, 3, 4)
    else:
        assert routing is None


@pytest.mark.parametrize('cls', NETWORKS)
def test_identity_at_initialisation(cls):
    net = build(cls)
    img = torch.rand(3, 3, 37, 53)
    for mode in (net.train, net.eval):
        mode()
        out = net.restore(img)
        assert isinstance(out, torch.Tensor)
        assert torch.equal(out, img)
    assert torch.equal(net(img), img)


def routed_net():
    net = build(MaERestorer, zero_init_last=False).eval()
    # Sharpen the routers so that different images pick different experts.
    with torch.no_grad():
        for mixture in net.mixtures:
            mixture.router.gate.weight.normal_(0, 20)
            mixture.router.prior.weight.normal_(0, 20)
    return net


def batch_of_different_images():
    torch.manual_seed(1)
    return torch.stack([
        torch.rand(3, 40, 48),
        torch.rand(3, 40, 48) * 0.2,
        torch.linspace(0, 1, 48).expand(3, 40, 48),
        1 - torch.rand(3, 40, 48) * 0.5,
        torch.full((3, 40, 48), 0.3),
    ])


def test_batched_dispatch_equals_per_sample():
    # float64, so that batched and single-sample kernels agree to 1e-10
    # (in float32 they differ by ~1e-6 after the whole network).
    net = routed_net().double()
    img = batch_of_different_images().double()
    with torch.no_grad():
        out, routing = net.restore_with_routing(img)
        singles = [net.restore_with_routing(img[i:i + 1]) for i in range(5)]
    assert len(set(routing.decisions.flatten().tolist())) > 1
    for i, (single, single_routing) in enumerate(singles):
        torch.testing.assert_close(out[i:i + 1], single, rtol=0, atol=1e-10)
        assert torch.equal(routing.decisions[i:i + 1],
                           single_routing.decisions)


def test_only_selected_experts_run_on_their_samples():
    net = routed_net()
    img = batch_of_different_images()
    seen = {}

    def hook(key):
        def record(module, args, output):
            seen[key] = args[0].shape[0]
        return record

    for level, mixture in enumerate(net.mixtures):
        for e, expert in enumerate(mixture.experts):
            expert.register_forward_hook(hook((level, e)))
    with torch.no_grad():
        _, routing = net.restore_with_routing(img)
    expected = {}
    for level in range(3):
        for e in routing.decisions[:, level, 0].tolist():
            expected[(level, e)] = expected.get((level, e), 0) + 1
    assert seen == expected


def test_eval_routing_is_deterministic():
    net = routed_net()
    img = batch_of_different_images()
    with torch.no_grad():
        first = net.restore_with_routing(img)
        second = net.restore_with_routing(img)
    assert torch.equal(first[0], second[0])
    assert torch.equal(first[1].probs, second[1].probs)


def test_routing_aux_loss_is_mean_over_levels():
    net = routed_net().train()
    img = batch_of_different_images()
    per_level = []
    for mixture in net.mixtures:
        mixture.register_forward_hook(
            lambda m, a, out: per_level.append(out[1].aux_loss))
    _, routing = net.restore_with_routing(img)
    # equal up to the order of the float additions
    torch.testing.assert_close(
        routing.aux_loss, torch.stack(per_level).mean(), rtol=1e-6, atol=0)
    routing.aux_loss.backward()
    assert net.mixtures[0].router.gate.weight.grad.abs().sum() > 0


def test_custom_arch_dict():
    arch = dict(embed_dims=8, encoder_blocks=(1, 0, 1, 1),
                decoder_blocks=(0, 1, 1), refinement_blocks=0,
                num_heads=(1, 1, 2, 2))
    net = DenseRestorer(arch=arch, zero_init_last=False)
    assert net.widths == [8, 16, 32, 64]
    assert net.restore(torch.rand(1, 3, 9, 11)).shape == (1, 3, 9, 11)


@pytest.mark.parametrize('arch, error, match', [
    ('huge', KeyError, 'model.restorer.arch'),
    (dict(embed_dims=8), KeyError, 'missing'),
    (dict(RESTORER_ARCHS['tiny'], decoder_blocks=(1, 1)), ValueError,
     'decoder_blocks'),
    (dict(RESTORER_ARCHS['tiny'], num_heads=(3, 2, 4, 8)), ValueError,
     'num_heads'),
])
def test_bad_arch_names_the_key(arch, error, match):
    with pytest.raises(error, match=match):
        DenseRestorer(arch=arch)


def test_bad_expert_settings_name_the_key():
    with pytest.raises(ValueError, match='model.restorer.top_k'):
        MaERestorer(arch='tiny', top_k=5)
    with pytest.raises(ValueError, match='expert_windows'):
        MaERestorer(arch='tiny', expert_windows=(4, 8))
