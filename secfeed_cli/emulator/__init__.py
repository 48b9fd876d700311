"""The local emulator of the FinFeedAPI SEC WebSocket (``secfeed serve``)."""
