"""Companies: SEC's CIK -> name/ticker map, its update, and the lookup."""
