"""check_finite / check_labels / check_same_length: pass silently, fail naming count and index."""
import numpy as np
import pytest

from gradkit.data import check_finite, check_labels, check_same_length


def test_check_finite_passes_finite_and_integer_arrays():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert check_finite(x) is x
    assert check_finite(np.array([np.iinfo(np.int64).max])) is not None
    assert check_finite(np.zeros((0, 3))) is not None


def test_check_finite_names_count_kinds_and_first_sample():
    x = np.zeros((10, 4), dtype=np.float32)
    x[5, 2] = np.nan
    x[7, 0] = np.inf
    x[9, 3] = np.nan
    with pytest.raises(ValueError, match=r"check_finite\(images\): 3 non-finite values \(2 NaN, 1 inf\) in 40 values, "
                                         r"shape \(10, 4\); first at index \(5, 2\) \(sample 5\)"):
        check_finite(x, "images")


def test_check_finite_negative_inf_alone():
    with pytest.raises(ValueError, match=r"1 non-finite value \(0 NaN, 1 inf\).*first at index \(2,\)"):
        check_finite(np.array([1.0, 2.0, -np.inf]))


def test_check_labels_out_of_range_names_first_index_and_label():
    y = np.array([0, 3, 9, 10, 2, 11])
    with pytest.raises(ValueError, match=r"2 labels outside \[0, 10\); first at index 3, label 10"):
        check_labels(y, 10)
    with pytest.raises(ValueError, match=r"1 label outside \[0, 3\); first at index 1, label -1.*subtract 1"):
        check_labels(np.array([0, -1, 2]), 3)
    assert check_labels(np.array([0, 9]), 10) is not None


def test_check_labels_float_labels():
    assert check_labels(np.array([0.0, 2.0]), 3) is not None
    with pytest.raises(ValueError, match=r"1 of 2 labels are not whole numbers; first at index 1, value 1.5"):
        check_labels(np.array([0.0, 1.5]), 3)
    with pytest.raises(TypeError, match="integer class labels"):
        check_labels(np.array(["a"]), 3)


def test_check_same_length_names_both_counts():
    with pytest.raises(ValueError, match=r"x has 100, y has 99"):
        check_same_length(np.zeros((100, 3)), np.zeros(99), names=["x", "y"])
    assert check_same_length(np.zeros((5, 2)), [1, 2, 3, 4, 5]) == 5


def test_checks_read_a_tensor_that_requires_grad_as_its_values():
    import gradkit
    x = gradkit.tensor([1.0, np.nan], requires_grad=True)
    with pytest.raises(ValueError, match=r"check_finite\(x\): 1 non-finite value \(1 NaN, 0 inf\)"):
        check_finite(x)
    y = gradkit.tensor([0.0, 3.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"check_labels\(labels\): 1 label outside \[0, 3\); "
                                         r"first at index 1, label 3.0"):
        check_labels(y, 3)
