"""The fast paths of feature extraction: bf16 through the command line and the domain extractor, kept apart from fp32.

The Inception side (bf16 against fp32 features, ids) is tested in test_metrics_inception.py beside its weights
fixture; here the bundled domain network keeps every test under a second.
"""

import numpy as np
import pytest

from metrics.cli import main
from metrics.extractors import get_extractor
from metrics.stats import FeatureStats
from vaegan.data import load_dataset


@pytest.fixture
def images(fashion_mnist):
    return load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=600).images


def test_domain_bf16_features_are_close_to_fp32_but_not_equal(images):
    """Measured: 0.26% mean, 0.49% worst relative error per image over these 600 test images."""
    fp32 = get_extractor("domain").features(images)
    bf16 = get_extractor("domain", precision="bf16").features(images)
    errors = np.linalg.norm(bf16 - fp32, axis=1) / np.linalg.norm(fp32, axis=1)
    assert errors.min() > 1e-4 and errors.max() < 2e-2


def test_precision_flag_reaches_the_extractor_and_its_statistics(tmp_path, capsys, images):
    np.save(tmp_path / "real.npy", images[:300].numpy())
    np.save(tmp_path / "fake.npy", images[300:].numpy())
    fp32_stats, bf16_stats = tmp_path / "fp32.npz", tmp_path / "bf16.npz"
    assert main(["stats", str(tmp_path / "real.npy"), str(fp32_stats), "--extractor", "domain"]) == 0
    assert main(["stats", str(tmp_path / "real.npy"), str(bf16_stats), "--extractor", "domain",
                 "--precision", "bf16"]) == 0
    fp32_id, bf16_id = FeatureStats.load(fp32_stats).extractor_id, FeatureStats.load(bf16_stats).extractor_id
    assert bf16_id == fp32_id.replace("@", "-bf16@") and fp32_id.startswith("domain-fashion_mnist@")
    assert main(["fid", str(bf16_stats), str(tmp_path / "fake.npy"), "--extractor", "domain",
                 "--precision", "bf16"]) == 0
    capsys.readouterr()
    # Statistics of one precision scored with an extractor of the other: an error, never a silent mix.
    assert main(["fid", str(fp32_stats), str(tmp_path / "fake.npy"), "--extractor", "domain",
                 "--precision", "bf16"]) == 2
    assert "StaleStatisticsError" in capsys.readouterr().err
