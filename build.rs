//! Relinks the charm when its code layout changes: scripts/build-dispatch.sh hands
//! layout/dispatch.order to the linker, a file cargo would not otherwise watch.
fn main() {
    println!("cargo::rerun-if-changed=layout/dispatch.order");
}
