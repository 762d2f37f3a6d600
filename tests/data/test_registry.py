import json

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from axon.data import DataSplits, build_dataset, dataset_names, describe_dataset, preprocessing_from_dict
from axon.data import registry
from axon.data.registry import REQUIRED
from axon.errors import ConfigError, DataError

from .conftest import FUZZ


def test_names_and_description():
    assert {"digits", "shapes"} <= set(dataset_names())
    info = describe_dataset("digits")
    assert info.summary.startswith("scikit-learn's bundled 8x8 digits")
    assert info.arguments == {"test_fraction": 0.2, "val_fraction": 0.1, "split_seed": 0}
    assert info.required == []


def test_unknown_name_and_argument_say_what_is_known():
    with pytest.raises(ConfigError, match=r"data.name: unknown data set 'digit'; did you mean 'digits'\?"):
        build_dataset("digit")
    with pytest.raises(ConfigError, match=r"data.val_fractoin: .*did you mean 'val_fraction'\?"):
        build_dataset("digits", val_fractoin=0.2)
    with pytest.raises(ConfigError, match="data.test_fraction"):
        build_dataset("digits", test_fraction=1.5)


def test_a_required_argument_is_named(monkeypatch):
    def reader(root: str, seed: int = 0) -> DataSplits:
        """A reader with a required argument."""
        raise AssertionError("not called")

    monkeypatch.setitem(registry._READERS, "needs-root", reader)
    assert describe_dataset("needs-root").arguments == {"root": REQUIRED, "seed": 0}
    with pytest.raises(ConfigError, match="data.root: data set 'needs-root' needs it"):
        build_dataset("needs-root", seed=1)


def test_digits_splits_carry_targets_shape_and_preprocessing():
    from sklearn.datasets import load_digits

    splits = build_dataset("digits")
    assert splits.input_shape == (1, 8, 8)
    assert torch.equal(splits.train_targets, splits.train.tensors[1])
    assert splits.train_targets.dtype == torch.int64
    preprocess = preprocessing_from_dict(json.loads(json.dumps(splits.preprocessing)))
    images = load_digits().images
    # every training item equals the recorded transform of some raw digit, bit for bit
    raw = torch.stack([preprocess(image) for image in images])
    item = splits.train[0][0]
    assert any(torch.equal(item, r) for r in raw)


def test_shapes_registered_with_its_arguments():
    splits = build_dataset("shapes", train=20, val=10, test=10, image_size=16)
    assert splits.input_shape == (3, 16, 16) and len(splits.train) == 20
    x, y = splits.val[0]
    assert x.shape == (3, 16, 16) and y.dtype == torch.int64
    assert torch.equal(preprocessing_from_dict(splits.preprocessing)(x.numpy()), x)


def test_bad_preprocessing_dict():
    with pytest.raises(DataError, match="unknown key 'colour'"):
        preprocessing_from_dict({"kind": "image", "shape": [3, 8, 8], "colour": 1})
    with pytest.raises(DataError, match="preprocessing.mode"):
        preprocessing_from_dict({"kind": "image", "shape": [3, 8, 8], "mode": "CMYK"})
    with pytest.raises(DataError, match="expected 64 values"):
        preprocessing_from_dict({"kind": "array", "shape": [1, 8, 8]})(torch.zeros(3))


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=True) |
                           st.text(max_size=5), lambda children: st.lists(children, max_size=4), max_leaves=8)


@FUZZ
@given(d=st.fixed_dictionaries({"kind": st.sampled_from(["image", "array", "x"]), "shape": JSON_VALUES},
                               optional={key: JSON_VALUES for key in ("divisor", "mean", "std", "mode", "resize",
                                                                      "crop", "max_pixels")}))
def test_a_hand_edited_preprocessing_dict_is_a_data_error_or_works(d):
    try:
        preprocess = preprocessing_from_dict(d)
    except DataError as err:
        assert str(err).startswith("preprocessing")
    else:
        assert preprocessing_from_dict(json.loads(json.dumps(preprocess.to_dict()))) == preprocess
