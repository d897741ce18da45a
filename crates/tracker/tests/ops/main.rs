//! SPEC §5d against the real `tracker serve` process: the metrics port
//! after real traffic (OP2), JSON log lines (OP3), SIGTERM with a slow
//! request, a slow-loris client and a stuck mail delivery, and a burst past
//! the concurrency limit (OP4). Each test runs the binary on a fresh SQLite
//! data directory: the process-wide parts (the metrics recorder, signals,
//! standard output) need a process of their own.

mod logs;
mod metrics;
mod server;
mod shutdown;
