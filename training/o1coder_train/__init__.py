"""o1coder-train: the training pipeline that makes o1-coder's models better.

Stages (one module each under `o1coder_train.stages`) read and write artifacts in one run
directory (`o1coder_train.run.RunDir`); `o1coder-train STAGE --config run.toml` runs one.
Nothing here is imported by the server: the dependency goes training -> engine only.
"""
