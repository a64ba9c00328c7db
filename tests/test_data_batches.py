"""BatchIterator ordering, determinism and resume; to_model_range / to_uint8 ranges."""

import pytest
import torch

from vaegan.data import BatchIterator, to_model_range, to_uint8


def _numbered(n: int) -> torch.Tensor:
    """uint8 (n, 1, 2, 2) whose every pixel holds the image's index, so a batch tells which images it holds."""
    return torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()


def _ids(batch: torch.Tensor) -> list[int]:
    return batch[:, 0, 0, 0].tolist()


def test_every_image_once_per_epoch_and_new_order_each_epoch():
    it = BatchIterator(_numbered(100), batch_size=10, seed=3)
    assert it.steps_per_epoch == 10
    epochs = []
    for expected_epoch in range(3):
        assert it.epoch == expected_epoch
        order = [i for _ in range(it.steps_per_epoch) for i in _ids(next(it))]
        assert sorted(order) == list(range(100))
        epochs.append(order)
    assert epochs[0] != epochs[1] != epochs[2]
    assert epochs[0] != list(range(100))


def test_drop_last_skips_the_remainder_and_keep_last_gives_a_short_batch():
    dropping = BatchIterator(_numbered(25), batch_size=10, seed=0)
    assert dropping.steps_per_epoch == 2
    assert [len(next(dropping)) for _ in range(4)] == [10, 10, 10, 10]
    keeping = BatchIterator(_numbered(25), batch_size=10, seed=0, drop_last=False)
    assert keeping.steps_per_epoch == 3
    sizes = [len(next(keeping)) for _ in range(6)]
    assert sizes == [10, 10, 5, 10, 10, 5]


def test_same_seed_same_sequence_other_seed_other_sequence():
    images = _numbered(50)
    a, b, c = (BatchIterator(images, 8, seed=s) for s in (7, 7, 8))
    seq_a = [_ids(next(a)) for _ in range(20)]
    assert seq_a == [_ids(next(b)) for _ in range(20)]
    assert seq_a != [_ids(next(c)) for _ in range(20)]


def test_state_dict_resume_gives_identical_continuation():
    images = _numbered(30)
    original = BatchIterator(images, 7, seed=11)
    for _ in range(9):  # mid-way through the third epoch
        next(original)
    state = original.state_dict()
    assert state["epoch"] == 2 and state["seed"] == 11 and state["batch_size"] == 7
    resumed = BatchIterator(images, 7, seed=11)
    resumed.load_state_dict(state)
    assert resumed.epoch == 2
    assert [_ids(next(resumed)) for _ in range(12)] == [_ids(next(original)) for _ in range(12)]


@pytest.mark.parametrize(
    "change, word", [({"seed": 1}, "seed"), ({"batch_size": 4}, "batch_size"), ({"num_images": 31}, "num_images")]
)
def test_load_state_dict_rejects_a_different_setup(change, word):
    it = BatchIterator(_numbered(30), 7, seed=11)
    state = {**it.state_dict(), **change}
    with pytest.raises(ValueError, match=word):
        it.load_state_dict(state)


def test_next_indices_fetch_matching_labels():
    images = _numbered(40)
    labels = torch.arange(40) * 10
    it = BatchIterator(images, 16, seed=0)
    idx = it.next_indices()
    assert (labels[idx] == images[idx][:, 0, 0, 0].long() * 10).all()


def test_too_few_images_for_a_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="batch"):
        BatchIterator(_numbered(5), 8, seed=0)


def test_uint8_model_range_round_trip_is_exact_for_all_256_values():
    values = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    x = to_model_range(values)
    assert x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.equal(to_uint8(x), values)


def test_to_uint8_clamps_and_rounds():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 5.0, 2 * 100.4 / 255 - 1])
    assert to_uint8(x).tolist() == [0, 0, 128, 255, 255, 100]


def test_scaling_rejects_the_wrong_dtype():
    with pytest.raises(TypeError):
        to_model_range(torch.zeros(2, 1, 4, 4))
    with pytest.raises(TypeError):
        to_uint8(torch.zeros(2, dtype=torch.uint8))


def test_load_state_dict_rejects_a_position_past_the_last_batch():
    it = BatchIterator(_numbered(30), 7, seed=0)
    with pytest.raises(ValueError, match="position"):
        it.load_state_dict({**it.state_dict(), "position": 28})
