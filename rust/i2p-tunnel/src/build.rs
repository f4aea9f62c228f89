//! ECIES tunnel build records (tunnel-creation-ecies.rst): being written.
