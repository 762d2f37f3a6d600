"""Classification metrics against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, top_k_accuracy_score

from axon.run.metrics import classification_metrics


@pytest.mark.parametrize("classes, n", [(7, 300), (3, 40), (12, 50)])
def test_metrics_match_scikit_learn(classes, n):
    generator = torch.Generator().manual_seed(classes)
    logits = torch.randn(n, classes, generator=generator)
    targets = torch.randint(0, classes, (n,), generator=generator)
    targets[:5] = 0  # class 0 is present; with 12 classes and 50 samples some are never predicted
    names = [f"c{i}" for i in range(classes)]
    metrics = classification_metrics(logits, targets, names)
    y_true, y_pred = targets.numpy(), logits.argmax(1).numpy()
    labels = list(range(classes))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(metrics.precision.numpy(), p, atol=1e-12)
    np.testing.assert_allclose(metrics.recall.numpy(), r, atol=1e-12)
    np.testing.assert_allclose(metrics.f1.numpy(), f, atol=1e-12)
    np.testing.assert_array_equal(metrics.support.numpy(), s)
    np.testing.assert_array_equal(metrics.confusion.numpy(), confusion_matrix(y_true, y_pred, labels=labels))
    assert metrics.top1 == pytest.approx((y_true == y_pred).mean())
    k = min(5, classes)
    expected_top5 = top_k_accuracy_score(y_true, logits.numpy(), k=k, labels=labels) if k < classes else 1.0
    assert metrics.top5 == pytest.approx(expected_top5)
    report = metrics.report()
    assert "top-5 acc" in report and names[-1] in report
    assert metrics.as_dict()["per_class"]["c0"]["support"] == int(s[0])


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ValueError, match=r"logits: expected shape \(N, 3\)"):
        classification_metrics(torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), ["a", "b", "c"])
