//! Optimised builds of the bench binary, which serves the measured API and event-ingest, are
//! linked with the functions the services run to start and idle laid out together
//! (`link-order.txt`, from `make link-order`; see src/link_order.rs) and with packed relative
//! relocations (`-z pack-relative-relocs`: the loader reads a few kB of relocations at start
//! instead of 1.8 MB). Both need lld, the default linker of x86_64-unknown-linux-gnu since Rust
//! 1.90; `UGC_LINK_ORDER=off` links without them.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=UGC_LINK_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    // PROFILE is "release" for every profile that inherits from release (`perf` does).
    if var("PROFILE") != "release"
        || var("TARGET") != "x86_64-unknown-linux-gnu"
        || var("UGC_LINK_ORDER") == "off"
    {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link-order.txt");
    if order.exists() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
}
