//! `tracing` to `juju-log`. (Being written.)
