//! Garlic encryption (ecies.rst, ecies-routers.rst): being written.
