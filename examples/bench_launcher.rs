//! The measuring launcher of `scripts/bench.sh`: `bench_launcher <program> [args...]` runs
//! the program as its only child, waits for it, exits as it did, and appends one JSON line
//! about it to the file named by `BENCH_LAUNCHER_OUT` (nothing is written without it):
//!
//! - `start_ns`, `end_ns`: CLOCK_MONOTONIC around the run (fork to reap), so the bench can
//!   attribute what happened in between (Pebble requests) to this run; `wall_us`;
//! - `user_us`, `sys_us`: CPU time of the child and of the processes it waited for (a
//!   hook's tool calls), from `wait4`;
//! - `own_peak_rss_kb`: the child's own peak RSS (`VmHWM`), read while it is stopped at
//!   its exit (`PTRACE_O_TRACEEXIT`), before its memory is released: its children (the hook
//!   tools) do not count in it;
//! - `own_cpu_us`: the child's own CPU time (user+sys, without the processes it waited
//!   for), the sum of /proc/<pid>/task/*/schedstat read at the same stop: exact for a
//!   single-threaded child (the charm is: its async runtime is current-thread), a lower
//!   bound otherwise (threads that ended before are not counted); `threads` at that stop;
//! - `own_anon_kb`, `own_file_kb`: at the same stop, the child's resident memory split into
//!   its private anonymous memory (heap, stack, written data) and the pages of files mapped
//!   (its binary's code and read-only data, shared through the page cache with every other
//!   process running the binary; the kernel maps them in fault-around blocks of 64 KiB, so
//!   this counts more than the code actually run);
//! - `tree_peak_rss_kb`: `wait4`'s `ru_maxrss`, the largest of the child and the processes
//!   it waited for;
//! - `exit`: the exit code (128 + signal when killed).
//!
//! With `BENCH_LAUNCHER_SMAPS=<file>`, the child's /proc/<pid>/smaps at that exit stop is
//! copied to the file (which mappings hold the resident memory). With
//! `BENCH_LAUNCHER_PAGEMAP=<dir>`, `<dir>/<start_ns>` lists every resident page of a
//! file the child maps, by page index in the file (which parts of the binary a run holds:
//! how the code layout of scripts/build-dispatch.sh does). The bench passes both on.
//!
//! A program that execs another (a wrapper script, as scripts/profile-layout.sh runs the
//! charm under callgrind) is followed through the exec.
//!
//! The launcher itself is small and runs outside what it measures (a test process's memory
//! would count in `ru_maxrss` of a vforked child). Only the child is traced, and only for
//! its signals and its exit: its own children run untraced.
// Bench code: it may unwrap and index like test code does (the charm's lints are for what
// runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Writes, for every page of a file-backed mapping resident in the stopped child, one line
/// `<file page index> <path>`: which pages of its binary a run really holds (the kernel maps
/// file pages in fault-around blocks, not one by one).
fn write_present_pages(pid: libc::pid_t, out: &std::path::Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let mut pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap"))?;
    let mut lines = String::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 6 || !fields[5].starts_with('/') {
            continue;
        }
        let (start, end) = fields[0].split_once('-').unwrap();
        let start = u64::from_str_radix(start, 16).unwrap();
        let end = u64::from_str_radix(end, 16).unwrap();
        let offset = u64::from_str_radix(fields[2], 16).unwrap();
        let pages = (end - start) / 4096;
        let mut entries = vec![0u8; pages as usize * 8];
        pagemap.seek(SeekFrom::Start(start / 4096 * 8))?;
        pagemap.read_exact(&mut entries)?;
        for (i, entry) in entries.chunks_exact(8).enumerate() {
            let entry = u64::from_le_bytes(entry.try_into().unwrap());
            if entry >> 63 == 1 {
                lines.push_str(&format!("{} {}\n", offset / 4096 + i as u64, fields[5]));
            }
        }
    }
    std::fs::write(out, lines)
}

/// A field of /proc/<pid>/status in kB (`VmHWM`, `RssAnon`, `RssFile`).
fn status_kb(pid: libc::pid_t, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The run time (ns) of the process's live threads, from each thread's schedstat; and
/// how many threads there are.
fn own_cpu_ns(pid: libc::pid_t) -> Option<(u64, usize)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    let mut threads = 0;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
        threads += 1;
    }
    Some((total, threads))
}

fn micros(tv: libc::timeval) -> u64 {
    tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64
}

fn main() {
    let argv: Vec<CString> = std::env::args_os()
        .skip(1)
        .map(|a| CString::new(a.as_bytes()).expect("no NUL in arguments"))
        .collect();
    if argv.is_empty() {
        eprintln!("usage: bench_launcher <program> [args...]");
        std::process::exit(2);
    }
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());

    let start_ns = monotonic_ns();
    // SAFETY: the child only calls async-signal-safe functions (ptrace, execvp, _exit)
    // on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        eprintln!("bench_launcher: fork: {}", std::io::Error::last_os_error());
        std::process::exit(127);
    }
    if pid == 0 {
        unsafe {
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::execvp(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
    }

    let mut own_peak_kb: Option<u64> = None;
    let mut own_anon_kb: Option<u64> = None;
    let mut own_file_kb: Option<u64> = None;
    let mut own_cpu: Option<(u64, usize)> = None;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut first_stop = true;
    let exit = loop {
        // SAFETY: wait4 writes status and usage.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if waited < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("bench_launcher: wait4: {e}");
            std::process::exit(127);
        }
        if libc::WIFEXITED(status) {
            break libc::WEXITSTATUS(status);
        }
        if libc::WIFSIGNALED(status) {
            break 128 + libc::WTERMSIG(status);
        }
        if libc::WIFSTOPPED(status) {
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            let mut inject = 0;
            if first_stop && sig == libc::SIGTRAP {
                // The stop after a successful exec: from here, stop at its exit too.
                first_stop = false;
                unsafe {
                    libc::ptrace(
                        libc::PTRACE_SETOPTIONS,
                        pid,
                        0,
                        libc::PTRACE_O_TRACEEXIT
                            | libc::PTRACE_O_TRACEEXEC
                            | libc::PTRACE_O_EXITKILL,
                    );
                }
            } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_EXEC {
                // The program exec'd another (a wrapper script): nothing to deliver.
            } else if sig == libc::SIGTRAP && event == libc::PTRACE_EVENT_EXIT {
                own_peak_kb = status_kb(pid, "VmHWM");
                own_anon_kb = status_kb(pid, "RssAnon");
                own_file_kb = status_kb(pid, "RssFile");
                own_cpu = own_cpu_ns(pid);
                if let Some(path) = std::env::var_os("BENCH_LAUNCHER_PAGEMAP") {
                    let path = std::path::Path::new(&path).join(start_ns.to_string());
                    if let Err(e) = write_present_pages(pid, &path) {
                        eprintln!("bench_launcher: cannot read the page map: {e}");
                    }
                }
                if let Some(path) = std::env::var_os("BENCH_LAUNCHER_SMAPS") {
                    // Where the memory is, for looking into the peak by hand.
                    if let Err(e) = std::fs::copy(format!("/proc/{pid}/smaps"), &path) {
                        eprintln!("bench_launcher: cannot copy smaps: {e}");
                    }
                }
            } else {
                inject = sig;
            }
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, inject) };
        }
    };
    let end_ns = monotonic_ns();

    if let Some(path) = std::env::var_os("BENCH_LAUNCHER_OUT") {
        let line = format!(
            "{{\"start_ns\":{start_ns},\"end_ns\":{end_ns},\"wall_us\":{},\"user_us\":{},\
             \"sys_us\":{},\"own_cpu_us\":{},\"threads\":{},\"own_peak_rss_kb\":{},\"own_anon_kb\":{},\"own_file_kb\":{},\"tree_peak_rss_kb\":{},\"exit\":{exit}}}\n",
            (end_ns - start_ns) / 1000,
            micros(usage.ru_utime),
            micros(usage.ru_stime),
            own_cpu.map_or_else(|| "null".to_string(), |(ns, _)| (ns / 1000).to_string()),
            own_cpu.map_or_else(|| "null".to_string(), |(_, n)| n.to_string()),
            own_peak_kb.map_or_else(|| "null".to_string(), |kb| kb.to_string()),
            own_anon_kb.map_or_else(|| "null".to_string(), |kb| kb.to_string()),
            own_file_kb.map_or_else(|| "null".to_string(), |kb| kb.to_string()),
            usage.ru_maxrss,
        );
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!(
                "bench_launcher: cannot write {}: {e}",
                std::path::Path::new(&path).display()
            );
        }
    }
    std::process::exit(exit);
}
