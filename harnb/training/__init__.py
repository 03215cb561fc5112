"""Training: how one model is trained and scored, independent of the study around it.

``profiles`` (named settings), ``budget`` (steps and early stopping), ``train`` (the loop,
precise BatchNorm, pre-training and fine-tuning), ``folds`` (normalised folds, cached
pre-training, frozen features), ``evaluate`` (metrics), ``embed`` (features for t-SNE),
``baseline`` (window statistics + random forest / logistic regression).
May import ``harnb.data``, ``harnb.models`` and the foundation (``config``, ``paper``).
"""
