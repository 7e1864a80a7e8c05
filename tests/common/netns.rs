//! Entering a network namespace from a thread (as `ip netns exec` would, for one thread):
//! how the tests reach a pod's loopback. Shared by tests/common/mod.rs and the Traefik
//! stand-in (tests/common/traefik.rs, which examples/local_deploy.rs includes too).

/// Moves the calling thread into the network namespace at `path` (`/run/netns/<name>`);
/// panics when it cannot. The namespace is per thread: only this thread moves.
pub fn enter(path: &str) {
    let ns = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&ns),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}
