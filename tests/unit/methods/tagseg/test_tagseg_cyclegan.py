"""The cine -> tagged CycleGAN of paper 001: losses against direct computations, the networks'
shapes and the PatchGAN's receptive field, the image pool, the schedule, and what one step of
each player may change. Tiny networks (width 4, one block) on 32 x 32 images keep it fast."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from myoflow.methods.tagseg.cyclegan import (
    BETAS,
    LR,
    CycleGAN,
    ImagePool,
    PatchGAN,
    ResnetGenerator,
    build_optimizers,
    build_schedulers,
    lr_factor,
    lsgan_loss,
)


def images(seed: int, batch: int = 2, size: int = 32) -> torch.Tensor:
    """A ``[batch, 1, size, size]`` batch in ``[0, 1]``."""
    return torch.rand(batch, 1, size, size, generator=torch.Generator().manual_seed(seed))


def tiny(pool_size: int = 50) -> CycleGAN:
    """The paper's loss weights and pool (the defaults) around tiny networks."""
    torch.manual_seed(0)
    return CycleGAN(width=4, blocks=1, pool_size=pool_size)


class Shift(nn.Module):
    """A stand-in generator adding a constant, so each L1 of the losses is known exactly."""

    def __init__(self, offset: float) -> None:
        super().__init__()
        self.offset = offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.offset


def test_cycle_and_identity_losses_equal_their_l1_of_known_generators() -> None:
    model = tiny()  # lambda 10, identity weight 0.5 x lambda
    a, b = 0.3, -0.1
    model.G_cine2tag = Shift(a)  # type: ignore[assignment]  # a stand-in with a known output
    model.G_tag2cine = Shift(b)  # type: ignore[assignment]
    loss, parts = model.generator_step(images(1), images(2))
    # a round trip adds a + b in either domain; each generator on its own domain adds a or b
    assert parts["cycle"].item() == pytest.approx(10.0 * 2 * abs(a + b), rel=1e-5)
    assert parts["identity"].item() == pytest.approx(0.5 * 10.0 * (abs(a) + abs(b)), rel=1e-5)
    total = parts["adv_g"] + parts["cycle"] + parts["identity"]
    assert loss.item() == pytest.approx(total.item(), rel=1e-6)


def test_identity_loss_scales_with_its_weight_and_vanishes_at_zero() -> None:
    model = tiny()
    cine, tagged = images(1), images(2)
    _, half = model.generator_step(cine, tagged)
    model.identity_weight = 1.0
    _, full = model.generator_step(cine, tagged)
    model.identity_weight = 0.0
    _, none = model.generator_step(cine, tagged)
    assert full["identity"].item() == pytest.approx(2 * half["identity"].item(), rel=1e-5)
    assert none["identity"].item() == 0.0
    assert half["identity"].item() > 0
    assert full["cycle"].item() == pytest.approx(half["cycle"].item(), rel=1e-6)


def test_least_squares_loss_is_the_mean_square_distance_to_the_label() -> None:
    scores = torch.randn(3, 1, 5, 5, generator=torch.Generator().manual_seed(3))
    assert lsgan_loss(scores, True).item() == pytest.approx(((scores - 1) ** 2).mean().item())
    assert lsgan_loss(scores, False).item() == pytest.approx((scores**2).mean().item())


def test_adversarial_parts_equal_least_squares_of_the_discriminators_scores() -> None:
    model = tiny(pool_size=0)  # no history: the discriminators score this batch's fakes
    cine, tagged = images(1), images(2)
    _, g_parts = model.generator_step(cine, tagged)
    _, d_parts = model.discriminator_step(cine, tagged)
    with torch.no_grad():
        fake_tag = model.G_cine2tag(cine * 2 - 1)
        fake_cine = model.G_tag2cine(tagged * 2 - 1)
        fake_tag_scores, fake_cine_scores = model.D_tag(fake_tag), model.D_cine(fake_cine)
        real_tag_scores, real_cine_scores = model.D_tag(tagged * 2 - 1), model.D_cine(cine * 2 - 1)
    adv = ((fake_tag_scores - 1) ** 2).mean() + ((fake_cine_scores - 1) ** 2).mean()
    d_tag = 0.5 * (((real_tag_scores - 1) ** 2).mean() + (fake_tag_scores**2).mean())
    d_cine = 0.5 * (((real_cine_scores - 1) ** 2).mean() + (fake_cine_scores**2).mean())
    assert g_parts["adv_g"].item() == pytest.approx(adv.item(), rel=1e-5)
    assert d_parts["d_tag"].item() == pytest.approx(d_tag.item(), rel=1e-5)
    assert d_parts["d_cine"].item() == pytest.approx(d_cine.item(), rel=1e-5)


def test_generator_keeps_the_shape_and_the_tanh_range() -> None:
    torch.manual_seed(0)
    generator = ResnetGenerator(width=8, blocks=2)
    x = images(4, batch=2, size=64) * 2 - 1
    with torch.no_grad():
        y = generator(x)
    assert y.shape == x.shape == (2, 1, 64, 64)
    assert y.abs().max() <= 1
    assert y.std() > 0
    with pytest.raises(ValueError, match="multiples of 4"):
        generator(torch.zeros(1, 1, 64, 62))


def test_translate_maps_unit_range_cine_to_unit_range_images_of_its_shape() -> None:
    cine = images(5, batch=3)
    tagged = tiny().translate(cine)
    assert tagged.shape == cine.shape
    assert tagged.min() >= 0 and tagged.max() <= 1
    assert not tagged.requires_grad


def test_patchgan_is_c64_c128_c256_c512_with_a_70_pixel_receptive_field() -> None:
    discriminator = PatchGAN(width=64)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert all(c.kernel_size == (4, 4) for c in convs)
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    field = 1
    for conv in reversed(convs):
        field = (field - 1) * conv.stride[0] + conv.kernel_size[0]
    assert field == 70
    norms = [m for m in discriminator.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert [n.num_features for n in norms] == [128, 256, 512]  # none after the first layer
    slopes = {m.negative_slope for m in discriminator.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}


def test_one_patchgan_score_sees_exactly_70_by_70_input_pixels() -> None:
    # Instance norm couples every pixel of a map; without it, the gradient of one interior score
    # is non-zero exactly on its receptive field (LeakyReLU never zeroes a gradient).
    torch.manual_seed(0)
    discriminator = PatchGAN(width=4).double()
    for module in discriminator.modules():
        if hasattr(module, "N"):
            module.N = nn.Identity()
    x = torch.randn(1, 1, 160, 160, dtype=torch.float64, requires_grad=True)
    scores = discriminator(x)
    scores[0, 0, scores.shape[2] // 2, scores.shape[3] // 2].backward()
    assert x.grad is not None
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    assert int(rows.max() - rows.min()) + 1 == 70
    assert int(cols.max() - cols.min()) + 1 == 70


def test_pool_returns_only_given_images_and_keeps_at_most_its_size() -> None:
    pool = ImagePool(size=5, seed=0)
    given: list[torch.Tensor] = []
    for step in range(20):
        batch = images(100 + step, batch=3, size=4)
        out = pool.query(batch)
        assert out.shape == batch.shape
        if step == 0:  # the pool was filling: the images pass through
            assert torch.equal(out, batch)
        given.extend(batch)
        assert all(any(torch.equal(o, g) for g in given) for o in out)
        assert len(pool.images) <= 5
    assert len(pool.images) == 5


def test_full_pool_swaps_about_half_of_the_images() -> None:
    pool = ImagePool(size=4, seed=1)
    pool.query(images(0, batch=4, size=2))
    batch = images(1, batch=400, size=2)
    out = pool.query(batch)
    passed = sum(torch.equal(o, b) for o, b in zip(out, batch, strict=True))
    assert 0.4 < passed / 400 < 0.6


def test_pool_is_reproducible_with_the_seed_and_resumes_from_its_state() -> None:
    def run(pool: ImagePool, start: int, steps: int) -> list[torch.Tensor]:
        return [pool.query(images(start + s, batch=3, size=4)) for s in range(steps)]

    first, again, other = ImagePool(4, seed=7), ImagePool(4, seed=7), ImagePool(4, seed=8)
    outs = run(first, 0, 10)
    assert all(torch.equal(a, b) for a, b in zip(outs, run(again, 0, 10), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(outs, run(other, 0, 10), strict=True))

    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = ImagePool(4, seed=99)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    assert all(
        torch.equal(a, b) for a, b in zip(run(first, 10, 5), run(resumed, 10, 5), strict=True)
    )
    with pytest.raises(ValueError, match="pool of 2"):
        ImagePool(2).load_state_dict(first.state_dict())


def test_cyclegan_state_dict_carries_the_pools() -> None:
    model = tiny()
    model.generator_step(images(1), images(2))
    model.discriminator_step(images(1), images(2))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    fresh = CycleGAN(width=4, blocks=1, seed=5)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    for pool, loaded in ((model.pool_tag, fresh.pool_tag), (model.pool_cine, fresh.pool_cine)):
        assert len(loaded.images) == len(pool.images) == 2
        assert all(torch.equal(a, b) for a, b in zip(pool.images, loaded.images, strict=True))
        assert torch.equal(loaded.generator.get_state(), pool.generator.get_state())


def test_lr_factor_is_constant_then_decays_linearly_to_zero() -> None:
    for epochs, start in ((200, 100), (7, 3)):
        factors = [lr_factor(e, epochs, start) for e in range(epochs + 1)]
        assert factors[:start] == [1.0] * start
        steps = [after - before for before, after in zip(factors[start - 1 :], factors[start:])]
        assert all(s < 0 for s in steps)
        assert max(steps) == pytest.approx(min(steps))
        assert factors[epochs - 1] > 0  # the last epoch still trains
        assert factors[epochs] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        lr_factor(0, 10, 11)


def test_optimizers_split_the_players_and_schedulers_follow_lr_factor() -> None:
    model = tiny()
    optimizers = build_optimizers(model)
    assert {id(p) for p in optimizers["generators"].param_groups[0]["params"]} == {
        id(p) for p in [*model.G_cine2tag.parameters(), *model.G_tag2cine.parameters()]
    }
    assert {id(p) for p in optimizers["discriminators"].param_groups[0]["params"]} == {
        id(p) for p in [*model.D_tag.parameters(), *model.D_cine.parameters()]
    }
    schedulers = build_schedulers(optimizers, epochs=6)  # decay from epoch 3
    for epoch in range(7):
        for name, optimizer in optimizers.items():
            assert optimizer.param_groups[0]["betas"] == BETAS
            expected = LR * lr_factor(epoch, 6, 3)
            assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, abs=1e-15), name
            optimizer.step()  # no gradients: the rate is all an epoch changes here
        for scheduler in schedulers.values():
            scheduler.step()


def snapshot(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(module: nn.Module, before: list[torch.Tensor]) -> bool:
    return any(not torch.equal(p, b) for p, b in zip(module.parameters(), before, strict=True))


def test_each_step_is_finite_and_moves_only_its_own_players() -> None:
    model = tiny()
    cine, tagged = images(1), images(2)
    # one optimiser over everything: only the parameters a loss reaches can move
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    players = {"G": (model.G_cine2tag, model.G_tag2cine), "D": (model.D_tag, model.D_cine)}

    for moving, step in (("G", model.generator_step), ("D", model.discriminator_step)):
        before = {net: snapshot(net) for nets in players.values() for net in nets}
        optimizer.zero_grad(set_to_none=True)
        loss, parts = step(cine, tagged)
        assert torch.isfinite(loss) and all(torch.isfinite(v) for v in parts.values())
        loss.backward()
        optimizer.step()
        assert all(torch.isfinite(p).all() for p in model.parameters())
        for name, nets in players.items():
            for net in nets:
                assert changed(net, before[net]) == (name == moving), (moving, name)
        assert all(p.requires_grad for p in model.parameters())


def test_discriminator_step_needs_a_fresh_generator_step() -> None:
    model = tiny()
    with pytest.raises(RuntimeError, match="generator_step"):
        model.discriminator_step(images(1), images(2))
    model.generator_step(images(1), images(2))
    model.discriminator_step(images(1), images(2))
    with pytest.raises(RuntimeError, match="generator_step"):
        model.discriminator_step(images(1), images(2))
