//! Gives libkevo.so its SONAME, which carries the ABI version (`KEVO_ABI_VERSION` in
//! src/lib.rs): programs linked against it load `libkevo.so.1`, and an incompatible
//! libkevo.so.2 can be installed beside it.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkevo.so.1");
    println!("cargo:rerun-if-changed=build.rs");
}
