"""secfeed: watch SEC filings arrive in real time from the FinFeedAPI SEC WebSocket."""

__version__ = "0.1.0"
