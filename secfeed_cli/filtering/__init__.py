"""Which filings to show: forms, CIKs, tickers and watchlists, times. Pure."""
