//! Relinks the charm when its code layout or the linker script changes:
//! scripts/build-dispatch.sh links through scripts/link-dispatch.sh, which hands
//! layout/dispatch.order to the linker, files cargo would not otherwise watch.
fn main() {
    println!("cargo::rerun-if-changed=layout/dispatch.order");
    println!("cargo::rerun-if-changed=scripts/link-dispatch.sh");
}
