"""Domain extractor: bundled weights (hash check, accuracy, features), custom weights, training script, registry."""

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import metrics.domain
from metrics.domain import (BUNDLED_WEIGHTS, BUNDLED_WEIGHTS_SHA256, DomainExtractor, DomainInputError, DomainNet,
                            DomainNetConfig, DomainWeightsError, DomainWeightsNotFound, save_domain_net,
                            to_network_input)
from metrics.extractors import EXTRACTORS, get_extractor
from metrics.weights_file import WeightsHashMismatch
from metrics.image_io import InputError
from vaegan.data import load_dataset

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def test_set():
    return load_dataset("fashion_mnist", split="test", limit=1000)


@pytest.fixture(scope="module")
def bundled():
    return DomainExtractor()


def test_bundled_weights_match_their_recorded_hash(bundled):
    sha = hashlib.sha256(BUNDLED_WEIGHTS.read_bytes()).hexdigest()
    assert sha == BUNDLED_WEIGHTS_SHA256 == bundled.weights_sha256
    assert json.loads(BUNDLED_WEIGHTS.with_suffix(".json").read_text())["sha256"] == sha
    assert bundled.id == f"domain-fashion_mnist@{sha[:8]}"
    assert bundled.name == "domain" and bundled.feature_dim == 128
    assert BUNDLED_WEIGHTS.stat().st_size < 2 * 2**20


def test_bundled_classifier_is_accurate(bundled, test_set):
    accuracy = float((bundled.predict(test_set.images) == test_set.labels.numpy()).mean())
    assert accuracy >= 0.85


def test_features_shape_dtype_and_determinism(bundled, test_set):
    images = test_set.images[:300]
    features = bundled.features(images)
    assert features.shape == (300, 128) and features.dtype == np.float64
    assert np.isfinite(features).all()
    assert np.array_equal(features, bundled.features(images))
    # Eval-mode BatchNorm: a sample's features do not depend on what else is in its batch.
    np.testing.assert_allclose(bundled.features(images, batch_size=7), features, rtol=1e-5, atol=1e-5)
    # They are the penultimate layer: the classifier head decides from exactly these vectors.
    with torch.no_grad():
        logits = bundled.model.head(torch.from_numpy(features).float())
    assert np.array_equal(logits.argmax(1).numpy(), bundled.predict(images))


def test_tampered_bundled_weights_are_refused(tmp_path, monkeypatch):
    tampered = tmp_path / BUNDLED_WEIGHTS.name
    data = bytearray(BUNDLED_WEIGHTS.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(metrics.domain, "BUNDLED_WEIGHTS", tampered)
    with pytest.raises(WeightsHashMismatch) as info:
        DomainExtractor()
    message = str(info.value)
    assert str(tampered) in message and BUNDLED_WEIGHTS_SHA256 in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message


def test_custom_weights_take_their_hash_and_dataset_from_the_json(tmp_path, bundled, test_set):
    weights = tmp_path / "mine.pt"
    shutil.copy(BUNDLED_WEIGHTS, weights)
    no_json = DomainExtractor(weights_path=weights)
    assert no_json.id == f"domain-custom@{BUNDLED_WEIGHTS_SHA256[:8]}"
    provenance = {"sha256": BUNDLED_WEIGHTS_SHA256, "dataset": "my_clothes"}
    weights.with_suffix(".json").write_text(json.dumps(provenance))
    custom = DomainExtractor(weights_path=weights)
    assert custom.id == f"domain-my_clothes@{BUNDLED_WEIGHTS_SHA256[:8]}"
    assert np.array_equal(custom.features(test_set.images[:20]), bundled.features(test_set.images[:20]))
    weights.with_suffix(".json").write_text(json.dumps({**provenance, "sha256": "0" * 64}))
    with pytest.raises(WeightsHashMismatch, match="0" * 64):
        DomainExtractor(weights_path=weights)


def test_other_architectures_round_trip_through_save_and_load(tmp_path):
    config = DomainNetConfig(in_channels=3, image_size=32, widths=(8, 16), feature_dim=24, num_classes=5)
    torch.manual_seed(0)
    model = DomainNet(config).eval()
    sha = save_domain_net(model, tmp_path / "rgb.pt")
    assert sha == hashlib.sha256((tmp_path / "rgb.pt").read_bytes()).hexdigest()
    assert not list(tmp_path.glob("*.tmp"))
    extractor = DomainExtractor(weights_path=tmp_path / "rgb.pt")
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        expected = model.features(to_network_input(images)).double().numpy()
    assert extractor.feature_dim == 24 and extractor.config == config
    np.testing.assert_allclose(extractor.features(images), expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(DomainInputError, match=r"\(3, 32, 32\)"):
        extractor.features(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))


def test_bad_images_and_files_are_refused(bundled, tmp_path):
    with pytest.raises(DomainInputError, match="inception"):
        bundled.features(torch.zeros(2, 1, 32, 32, dtype=torch.uint8))
    with pytest.raises(DomainInputError, match=r"\(1, 28, 28\)"):
        bundled.features(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))
    with pytest.raises(InputError, match="uint8"):
        bundled.features(torch.zeros(2, 1, 28, 28))
    with pytest.raises(DomainWeightsNotFound):
        DomainExtractor(weights_path=tmp_path / "missing.pt")
    torch.save({"not": "weights"}, tmp_path / "junk.pt")
    with pytest.raises(DomainWeightsError, match="junk.pt"):
        DomainExtractor(weights_path=tmp_path / "junk.pt")


def test_registry_builds_extractors_and_lists_names_on_error():
    assert set(EXTRACTORS) == {"inception", "domain"}
    assert get_extractor("domain").id.startswith("domain-fashion_mnist@")
    with pytest.raises(ValueError, match="domain, inception"):
        get_extractor("vgg")


def test_training_script_writes_loadable_weights_and_provenance(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("train_domain_extractor",
                                                  REPO / "scripts" / "dev" / "train_domain_extractor.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "quick.pt"
    assert script.main(["--epochs", "1", "--limit", "640", "--batch-size", "64", "--out", str(out)]) == 0
    provenance = json.loads(out.with_suffix(".json").read_text())
    assert provenance["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert provenance["dataset"] == "fashion_mnist" and provenance["epochs"] == 1 and provenance["seed"] == 0
    # 10 steps on 640 images already beat chance (0.1) by far on the 640 test images.
    assert provenance["test_accuracy"] > 0.3
    assert "test accuracy" in capsys.readouterr().out
    extractor = DomainExtractor(weights_path=out)
    assert extractor.id == f"domain-fashion_mnist@{provenance['sha256'][:8]}"
