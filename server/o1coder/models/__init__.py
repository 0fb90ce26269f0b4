"""Models: the catalog of known GGUF files, installing and checking them, the registry of added
models, resolving settings to files, training manifests and backends."""
