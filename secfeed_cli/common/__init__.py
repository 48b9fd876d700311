"""The ground floor: helpers every other package may use, and which use nothing above them.

Settings, diagnostics, secrets, signals, bounded reads, atomic files, the config file and the
escaping of control characters live here so that the packages import one way (see
``docs/architecture.md``)."""
