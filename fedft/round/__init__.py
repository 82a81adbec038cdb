"""The round's own logic, free of Flower: workload, data preparation, coordinator, checkpoints,
update checks, masking bounds, round summaries."""
