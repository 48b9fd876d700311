"""secfeed: watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket."""
