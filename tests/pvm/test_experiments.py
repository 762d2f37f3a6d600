import torch

from axon.pvm.experiments import box_iou, heatmap_box


def test_heatmap_box_takes_the_region_holding_the_peak():
    heat = torch.full((20, 20), 0.4)
    heat[2:6, 3:9] = 0.9    # the peak region
    heat[12:18, 12:18] = 0.7  # a weaker blob above the threshold, not connected
    heat[4, 5] = 1.0
    assert heatmap_box(heat) == (3, 2, 9, 6)


def test_box_iou():
    assert box_iou((0, 0, 4, 4), (0, 0, 4, 4)) == 1.0
    assert box_iou((0, 0, 4, 4), (2, 0, 6, 4)) == 8 / 24
    assert box_iou((0, 0, 2, 2), (5, 5, 6, 6)) == 0.0
