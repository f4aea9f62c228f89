//! `uniffi-bindgen`, pinned to the workspace's uniffi version, so that the bindings
//! always match the scaffolding compiled into `libgousse_ffi`. Usage (see
//! scripts/kotlin-test.sh):
//!
//! ```text
//! cargo run -p uniffi-bindgen -- generate --library target/debug/libgousse_ffi.so \
//!     --language kotlin --config uniffi.toml --out-dir OUT
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
