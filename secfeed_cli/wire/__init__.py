"""The wire format: frames to typed messages and filings. Pure."""
