"""A tiny PVM model for fast tests."""

from axon.pvm.config import parse_model

TINY = {"name": "tiny", "input_size": 12, "input_block_size": 3, "hidden_block_size": 3,
        "layer_shapes": [4, 3, 2, 1],
        "schedule": {"initial_learning_rate": 0.05, "intermediate_learning_rate": 0.05,
                     "final_learning_rate": 0.01, "delay_each_layer": 2,
                     "delay_intermediate": 5, "delay_final": 10, "enable_lateral_at": 3,
                     "enable_feedback_at": 4}}


def tiny(**kw):
    return parse_model({**TINY, **kw})
