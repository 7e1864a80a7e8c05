//! Makes a host TCP service reachable on a pod's loopback (a network namespace). Shared by
//! tests/common/mod.rs and examples/bench.rs (which includes it with `netns` beside it).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use super::netns;

/// Makes a host TCP service reachable on a pod's loopback, as a Kubernetes service is
/// reachable from a pod: a listener bound inside the network namespace hands each
/// connection to a host-side thread that relays it to `target`. Stops on drop.
pub struct Relay {
    stop: Arc<AtomicBool>,
    listener: Option<JoinHandle<()>>,
}

impl Relay {
    pub fn start(netns: &str, port: u16, target: SocketAddr) -> Relay {
        let stop = Arc::new(AtomicBool::new(false));
        let (connections, accepted) = mpsc::channel::<TcpStream>();
        let (bound_tx, bound) = mpsc::channel();
        let path = format!("/run/netns/{netns}");
        let listener = std::thread::spawn({
            let stop = stop.clone();
            move || {
                netns::enter(&path);
                let listener = TcpListener::bind(("127.0.0.1", port))
                    .and_then(|l| l.set_nonblocking(true).map(|()| l));
                let listener = match listener {
                    Ok(l) => {
                        let _ = bound_tx.send(Ok(()));
                        l
                    }
                    Err(e) => {
                        let _ = bound_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = stream.set_nonblocking(false);
                            if connections.send(stream).is_err() {
                                return;
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }
        });
        bound
            .recv()
            .expect("relay thread")
            .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port} in {netns}: {e}"));
        // Created from this (host-namespace) thread, so its connects reach the host.
        std::thread::spawn(move || {
            for inside in accepted {
                let Ok(outside) = TcpStream::connect(target) else {
                    continue;
                };
                pipe(&inside, &outside);
                pipe(&outside, &inside);
            }
        });
        Relay {
            stop,
            listener: Some(listener),
        }
    }
}

/// Copies `from` to `to` on a thread until `from` ends, then ends `to`'s writing side.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
    }
}
