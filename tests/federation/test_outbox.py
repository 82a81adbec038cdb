"""The outbox describes what a site sends without values, and flags text."""

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict

from fedft.federation.outbox import describe, text_fields


def test_description_has_shapes_and_types_but_no_values_and_flags_text():
    # Prepare
    content = RecordDict(
        {
            "params": ArrayRecord([np.zeros((2, 3), dtype=np.float32)]),
            "fitres.metrics": MetricRecord({"train_loss": 0.5, "steps": 3}),
            "fitres.status": ConfigRecord({"message": "", "note": "Patient John Smith"}),
        }
    )
    # Execute
    description = describe(content)
    # Assert
    assert list(description["arrays"]["params"].values()) == [{"dtype": "float32", "shape": [2, 3]}]
    assert description["metrics"]["fitres.metrics"] == {"train_loss": "float", "steps": "int"}
    assert "John" not in str(description)
    assert text_fields(description) == ["fitres.status.note"]
