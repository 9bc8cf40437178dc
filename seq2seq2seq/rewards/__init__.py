"""What a summary is worth: the scorers, one registry shared by training, the test-time choice and the diagnostics."""
