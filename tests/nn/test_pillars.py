"""Pillars: grouping against a per-point Python reference, the decorated features and the
scatter against direct loops, and the Pillar Feature Net's gradient in float64."""

import pytest
import torch

from axon.nn.pillars import (PillarFeatureNet, PillarGrid, PillarScatter, pad_pillars, pillar_point_features,
                             pillarize)

GRID = PillarGrid((0.0, -2.0, -3.0, 4.0, 2.0, 1.0), (0.5, 0.5, 4.0))


def random_cloud(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low, high = torch.tensor([-0.5, -2.5, -3.5, 0.0]), torch.tensor([4.5, 2.5, 1.5, 1.0])
    return (torch.rand(n, 4, generator=g, dtype=torch.float64) * (high - low) + low)


def reference_pillars(points, grid, max_points, max_pillars):
    """First-come grouping, one point at a time."""
    pillars: dict[tuple[int, int], list] = {}
    for p in points.tolist():
        if not all(grid.point_range[i] <= p[i] < grid.point_range[i + 3] for i in range(3)):
            continue
        cell = (int((p[1] - grid.point_range[1]) // grid.pillar_size[1]),
                int((p[0] - grid.point_range[0]) // grid.pillar_size[0]))
        if cell not in pillars and len(pillars) == max_pillars:
            continue
        pillars.setdefault(cell, []).append(p)
    return [(cell, pts[:max_points]) for cell, pts in pillars.items()]


@pytest.mark.parametrize("max_points,max_pillars", [(32, 100), (3, 100), (4, 5)])
def test_pillarize_matches_first_come_reference(max_points, max_pillars):
    points = random_cloud(400)
    pillars, counts, coords = pillarize(points, GRID, max_points, max_pillars)
    expected = reference_pillars(points, GRID, max_points, max_pillars)
    assert len(pillars) == len(expected)
    for k, (cell, pts) in enumerate(expected):
        assert tuple(coords[k].tolist()) == cell
        assert counts[k] == len(pts)
        torch.testing.assert_close(pillars[k, :len(pts)], torch.tensor(pts, dtype=torch.float64))
        assert (pillars[k, len(pts):] == 0).all()


def test_pillarize_with_generator_is_seeded_and_keeps_points_of_the_cloud():
    points = random_cloud(400)
    first = pillarize(points, GRID, 4, 10, torch.Generator().manual_seed(3))
    again = pillarize(points, GRID, 4, 10, torch.Generator().manual_seed(3))
    other = pillarize(points, GRID, 4, 10, torch.Generator().manual_seed(4))
    for a, b in zip(first, again):
        assert torch.equal(a, b)
    assert not torch.equal(first[2], other[2])
    kept = first[0][first[0].abs().sum(-1) > 0]
    assert all((points == row).all(dim=1).any() for row in kept)


def test_pillarize_rejects_points_without_reflectance():
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        pillarize(torch.zeros(5, 3), GRID, 4, 10)


def test_decorated_features_by_hand():
    pillars, counts, coords = pad_pillars([pillarize(random_cloud(300), GRID, 8, 50)])
    features = pillar_point_features(pillars, counts, coords, GRID)
    assert features.shape == (*pillars.shape[:3], 10)
    for k in range(pillars.shape[1]):
        n = int(counts[0, k])
        pts = pillars[0, k, :n]
        row, col = coords[0, k].tolist()
        centre = torch.tensor([col * 0.5 + 0.25, row * 0.5 - 2.0 + 0.25, -1.0], dtype=torch.float64)
        expected = torch.cat([pts, pts[:, :3] - pts[:, :3].mean(0), pts[:, :3] - centre], dim=1)
        torch.testing.assert_close(features[0, k, :n], expected)
        assert (features[0, k, n:] == 0).all()


def test_scatter_places_every_pillar_and_drops_padding():
    frames = [pillarize(random_cloud(300, seed), GRID, 8, 50) for seed in (0, 1)]
    frames[1] = tuple(t[:7] for t in frames[1])
    pillars, counts, coords = pad_pillars(frames)
    features = torch.randn(*counts.shape, 5, dtype=torch.float64)
    image = PillarScatter(GRID)(features, counts, coords)
    expected = torch.zeros(2, 5, GRID.ny, GRID.nx, dtype=torch.float64)
    for b in range(2):
        for k in range(counts.shape[1]):
            if counts[b, k] > 0:
                row, col = coords[b, k].tolist()
                expected[b, :, row, col] = features[b, k]
    torch.testing.assert_close(image, expected)


def test_feature_net_gradient_float64():
    pillars, counts, coords = pad_pillars([pillarize(random_cloud(120), GRID, 4, 12)])
    net = PillarFeatureNet(GRID, channels=6).double()

    def run(points):
        return net(points, counts, coords)

    assert torch.autograd.gradcheck(run, (pillars.requires_grad_(),), eps=1e-6, atol=1e-5)


def test_grid_checks_its_geometry():
    with pytest.raises(ValueError, match="whole height"):
        PillarGrid((0, 0, -3, 1, 1, 1), (0.5, 0.5, 1.0))
    with pytest.raises(ValueError, match="min < max"):
        PillarGrid((1, 0, -3, 0, 1, 1), (0.5, 0.5, 4.0))
