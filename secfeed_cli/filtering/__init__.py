"""Which filings to show: forms, CIKs, tickers and watchlists, times. Pure but for reading a
watchlist file and SEC's map for ``--ticker``."""
