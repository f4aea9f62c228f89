//! Tunnel messages (tunnel-message.rst): being written.
