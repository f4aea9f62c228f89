//! SU3 files (updates.rst, "SU3 File Specification"): being written.
