"""The local archive: every filing seen, in SQLite, exactly once (``--archive PATH``), read
back as a source (``--from PATH``) and by ``secfeed archive``."""
