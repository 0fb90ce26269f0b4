"""Training problems: the normalised record, loaders, the offline builder, eval-set dedup."""
