"""Models: the catalog of known GGUF files, the on-disk store, training manifests and backends."""
