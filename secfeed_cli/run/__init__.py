"""One run: the loop, snapshots, files, signals, settings, config, diagnostics."""
