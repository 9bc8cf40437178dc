"""The adversarial stage's reinforcement learning: collect a batch of rollouts without gradients (samples, baseline,
rewards, advantages), and the objectives G's update minimises."""
