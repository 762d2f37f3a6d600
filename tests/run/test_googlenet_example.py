"""examples/googlenet-imagefolder.yaml trains for a few steps on a generated image folder
(sizes overridden to stay cheap); predict on the raw test images equals the evaluation."""

from pathlib import Path

import pytest
import torch
import yaml

from axon.cli import main
from axon.nn.init import init_weights
from axon.zoo import create

EXAMPLE = Path(__file__).parents[2] / "examples" / "googlenet-imagefolder.yaml"


@pytest.mark.slow
def test_googlenet_example_trains_on_an_image_folder(image_folder, tmp_path, capsys):
    config = yaml.safe_load(EXAMPLE.read_text())
    assert config["model"]["name"] == "googlenet" and config["data"]["augment"] == {"recipe": "imagenet"}
    assert config["precision"] == "auto" and config["channels_last"] == "auto" and config["label_smoothing"] > 0
    config.update(epochs=1, batch_size=4, out=str(tmp_path / "runs"), name="g")
    config["model"]["args"]["image_size"] = 64  # GoogLeNet's smallest: 64 px reach its last pool at 4x4
    config["data"].update(root=str(image_folder), resize=64, crop=64, test_fraction=0.2, num_workers=1)
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path), "--no-progress"]) == 0
    run = tmp_path / "runs" / "g"
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["model"]["args"]["num_classes"] == 3  # from the class folders
    assert main(["eval", str(run)]) == 0
    assert "top-5 acc" in capsys.readouterr().out


def test_the_example_init_lets_googlenet_see_its_input():
    config = yaml.safe_load(EXAMPLE.read_text())
    torch.manual_seed(0)
    model = create("googlenet", num_classes=3, **{**config["model"]["args"], "image_size": 64}).eval()
    images = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        before = model(images).std(dim=0).mean()
        init_weights(model, config["init"]["scheme"])
        after = model(images).std(dim=0).mean()
    assert before < 1e-5 < 1e-2 < after   # the default init's logits do not depend on the image
