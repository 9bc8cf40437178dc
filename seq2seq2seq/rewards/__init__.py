"""What a summary is worth: one reward per module, and one registry (registry.py) that training, the test-time
choice and the diagnostics share."""
