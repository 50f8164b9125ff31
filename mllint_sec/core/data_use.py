"""What request data is used for where it arrives; it decides what can clear the data (flows/taint.py)."""

from __future__ import annotations

from mllint_sec.core.text_enum import TextEnum


class DataUse(TextEnum):
    DESERIALIZE = "deserialize"  # a loader another rule reports: nothing clears it
    INFERENCE = "model-inference"  # validation clears it
    TRAINING = "model-training"  # nothing clears it: well-formed samples poison too


# The model sinks (flows/sinks.py, rules/model-sinks.toml): a flow rule's `flows_into` may name
# one of them instead of a rule family.
SINK_KINDS = (DataUse.INFERENCE, DataUse.TRAINING)
