"""Training: the losses (one a file), training examples, and the loop that distills utility into the student."""
