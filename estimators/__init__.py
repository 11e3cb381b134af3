"""Mutual-information estimators: contrastive bounds with learned critics and minibatch bounds (filled by issue 3)."""
