"""Latent samplers: the mixture fitted to encoder means recovers a known mixture, samples repeat from a seed and follow
the fitted distribution, the saved file round-trips and is refitted when stale, and a bad file is one clear error."""

import dataclasses
import re

import numpy as np
import pytest
import torch
from torch import nn

from vaegan.latent_sampler import (SAMPLERS, GMMFileError, LatentGMM, check_sampler_names, fit_gmm, fit_gmms, gmm_for_run,
                                   gmm_path, latent_codes, trained_run_gmm)
from vaegan.sampling import decode
from vaegan.trained_run import load_trained_run
from vaegan.training.loop import train

MEANS = np.array([[-0.6, -0.5], [0.6, 0.0], [0.0, 0.6]])
WEIGHTS = np.array([0.5, 0.3, 0.2])


class PixelEncoder(nn.Module):
    """The image is the code: uint8 (N, 1, 1, D) pixels, scaled to [-1, 1] by encode_mean, are mu. Counts calls."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # encode_mean finds the device through a parameter
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x.flatten(1), torch.zeros_like(x.flatten(1))


def images_of(codes: np.ndarray) -> torch.Tensor:
    """codes in [-1, 1], (N, D) -> uint8 (N, 1, 1, D) that PixelEncoder maps back (to 1/255 of the range)."""
    return torch.from_numpy(np.round((codes + 1) * 127.5).clip(0, 255).astype(np.uint8)).view(len(codes), 1, 1, -1)


def mixture_codes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    component = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    return MEANS[component] + 0.05 * rng.standard_normal((n, 2))


def known_gmm() -> LatentGMM:
    a = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, -0.3, 0.4]])
    covariances = np.stack([a @ a.T, np.diag([0.3, 0.2, 0.1])])
    return LatentGMM.from_parameters([0.7, 0.3], [[1.0, -2.0, 0.5], [-1.0, 1.0, 0.0]], covariances, step=7, n_images=9)


def test_a_fit_recovers_a_known_mixture():
    gmm = fit_gmm(PixelEncoder(), images_of(mixture_codes(3000)), n_components=3, seed=0)
    order = [int(np.argmin(np.linalg.norm(gmm.means.numpy() - m, axis=1))) for m in MEANS]
    assert sorted(order) == [0, 1, 2]
    assert np.abs(gmm.means.numpy()[order] - MEANS).max() < 0.02
    assert np.abs(gmm.weights.numpy()[order] - WEIGHTS).max() < 0.03
    assert (gmm.n_components, gmm.latent_dim, gmm.n_images, gmm.step) == (3, 2, 3000, None)
    assert torch.allclose(gmm.cholesky @ gmm.cholesky.transpose(1, 2), gmm.covariances)


def test_a_fit_on_more_images_than_allowed_uses_the_same_subset_each_time():
    images = images_of(mixture_codes(3000))
    a, b = (fit_gmm(PixelEncoder(), images, n_components=3, max_images=1000, step=4) for _ in range(2))
    assert a.n_images == 1000 and a.step == 4
    assert torch.equal(a.means, b.means) and torch.equal(a.covariances, b.covariances)


def test_fits_from_several_starts_encode_once_and_the_first_is_fit_gmms():
    images = images_of(mixture_codes(3000))
    once, several = PixelEncoder(), PixelEncoder()
    single = fit_gmm(once, images, n_components=3, seed=5, max_images=1000)
    fits = fit_gmms(several, images, (5, 6, 7), n_components=3, max_images=1000)
    assert several.calls == once.calls  # the codes are encoded once for all fits
    assert [g.seed for g in fits] == [5, 6, 7] and all(g.n_images == 1000 for g in fits)
    assert torch.equal(fits[0].means, single.means) and torch.equal(fits[0].covariances, single.covariances)


def test_fits_side_by_side_are_each_the_fit_of_its_seed_alone():
    # structureless codes: EM ends at a different optimum from each start, so a mixed-up seed would show
    images = images_of(np.random.default_rng(1).uniform(-0.9, 0.9, (800, 3)))
    fits = fit_gmms(PixelEncoder(), images, (5, 6, 7), n_components=4)
    assert not torch.equal(fits[0].means, fits[1].means)
    for fit in fits:  # fitted in threads, one per core: the same numbers as one fit at a time
        alone = fit_gmm(PixelEncoder(), images, n_components=4, seed=fit.seed)
        assert torch.equal(fit.means, alone.means) and torch.equal(fit.covariances, alone.covariances)


def test_samples_repeat_from_a_seed_and_follow_the_mixture():
    gmm = known_gmm()
    z = gmm.sample(200_000, torch.Generator().manual_seed(1))
    assert z.shape == (200_000, 3) and z.dtype == torch.float32
    assert torch.equal(z, gmm.sample(200_000, torch.Generator().manual_seed(1)))
    assert not torch.equal(z[:10], gmm.sample(10, torch.Generator().manual_seed(2)))
    w, mu, cov = gmm.weights, gmm.means, gmm.covariances
    mean = (w[:, None] * mu).sum(0)
    second_moment = (w[:, None, None] * (cov + mu[:, :, None] * mu[:, None, :])).sum(0)
    z = z.double()
    assert torch.allclose(z.mean(0), mean, atol=0.01)
    assert torch.allclose(torch.cov(z.T), second_moment - torch.outer(mean, mean), atol=0.02)


def test_latent_codes_by_name():
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(latent_codes("prior", 4, 3, gen()), torch.randn(4, 3, generator=gen()))
    assert torch.equal(latent_codes("gmm", 4, 3, gen(), known_gmm()), known_gmm().sample(4, gen()))
    assert list(SAMPLERS) == ["prior", "gmm"]
    with pytest.raises(ValueError, match="needs a fitted mixture"):
        latent_codes("gmm", 4, 3, gen())
    with pytest.raises(ValueError, match="3 latent dimensions, the decoder takes 8"):
        latent_codes("gmm", 4, 8, gen(), known_gmm())
    for bad in (["nope"], [], ["gmm", "gmm"]):
        with pytest.raises(ValueError, match="samplers must be distinct names from prior, gmm"):
            check_sampler_names(bad)


def test_save_and_load_round_trip(tmp_path):
    gmm = dataclasses.replace(known_gmm(), encoder_sha256="ab" * 32)
    gmm.save(tmp_path / "a.gmm.npz")
    back = LatentGMM.load(tmp_path / "a.gmm.npz")
    assert (back.step, back.seed, back.n_images, back.n_components, back.latent_dim) == (7, 0, 9, 2, 3)
    assert back.encoder_sha256 == "ab" * 32
    for name in ("weights", "means", "covariances", "cholesky"):
        assert torch.equal(getattr(back, name), getattr(gmm, name)), name
    assert [p.name for p in tmp_path.iterdir()] == ["a.gmm.npz"]  # no temp file left behind


def test_a_corrupt_or_inconsistent_file_is_one_clear_error(tmp_path):
    path = tmp_path / "latest.gmm.npz"
    known_gmm().save(path)
    with np.load(path) as f:
        arrays = dict(f)
    path.write_bytes(path.read_bytes()[:200])  # truncated
    message = f"latent GMM file {re.escape(str(path))} is corrupt or does not fit .*delete it to refit"
    with pytest.raises(GMMFileError, match=message) as e:
        LatentGMM.load(path)
    assert "\n" not in str(e.value)
    np.savez(path, **{**arrays, "latent_dim": np.int64(4)})  # arrays of 3 dimensions claiming 4
    with pytest.raises(GMMFileError, match="means has shape \\(2, 3\\), expected \\(2, 4\\)"):
        LatentGMM.load(path)
    gmm_path(tmp_path, "latest").parent.mkdir()
    gmm_path(tmp_path, "latest").write_text("not a mixture")
    with pytest.raises(GMMFileError, match="corrupt"):
        gmm_for_run(tmp_path, "latest", 7, PixelEncoder(), images_of(mixture_codes(100)))


def test_gmm_for_run_reuses_a_file_of_the_same_encoder_and_refits_a_stale_one(tmp_path):
    images, encoder = images_of(mixture_codes(500)), PixelEncoder()
    first = gmm_for_run(tmp_path, "best", 10, encoder, images)
    path = gmm_path(tmp_path, "best")
    assert path == tmp_path / "checkpoints" / "best.gmm.npz" and LatentGMM.load(path).step == 10
    calls = encoder.calls
    again = gmm_for_run(tmp_path, "best", 10, encoder, images)
    assert encoder.calls == calls and torch.equal(again.means, first.means)  # read back, not refitted
    later = gmm_for_run(tmp_path, "best", 12, encoder, images)
    assert encoder.calls > calls and later.step == 12 and LatentGMM.load(path).step == 12
    calls = encoder.calls
    with torch.no_grad():
        encoder.anchor.add_(1.0)  # other weights at the same step, e.g. the run's EMA instead of its live encoder
    other = gmm_for_run(tmp_path, "best", 12, encoder, images)
    assert encoder.calls > calls and other.encoder_sha256 != later.encoder_sha256


def test_a_briefly_trained_run_gets_its_mixture_saved_beside_the_checkpoint(tiny_config):
    run = load_trained_run(train(tiny_config(steps=2)))
    gmm = trained_run_gmm(run)
    saved = LatentGMM.load(run.run_dir / "checkpoints" / "latest.gmm.npz")
    assert (saved.step, saved.latent_dim, saved.n_components, saved.n_images) == (2, run.cfg.model.latent_dim, 10, 512)
    z = latent_codes("gmm", 16, run.cfg.model.latent_dim, torch.Generator().manual_seed(0), gmm)
    images = decode(run.nets["decoder"], z)
    assert images.shape == (16, 1, 28, 28) and images.dtype == torch.uint8
