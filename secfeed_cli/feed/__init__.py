"""The feed: the WebSocket handshake, frames, connections, the stream of events."""
