"""Companies: SEC's CIK -> name/ticker map, its update, and the lookup."""

#: Where SEC publishes the map (``secfeed tickers update``'s default ``--source``).
SEC_URL = "https://www.sec.gov/files/company_tickers.json"
