"""Reading, generating, partitioning and tokenizing local training data."""
