//! [`RuntimeThreads`]: the current-thread runtimes of [`crate::Config::tcp_runtimes`], each
//! driven on a thread of its own.

use tokio::runtime::Handle;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A job for a thread: [`RuntimeThreads::start`] hands one per runtime to its `spawn`.
pub type ThreadJob = Box<dyn FnOnce() + Send + 'static>;

/// Current-thread runtimes, each built, driven and dropped on a thread of its own until
/// this value is dropped: what [`crate::Config::tcp_runtimes`] needs (a current-thread
/// runtime only runs inside `block_on`). Keep it alive until [`crate::Proxy::shutdown`]
/// has returned.
#[derive(Debug)]
pub struct RuntimeThreads {
    handles: Vec<Handle>,
    _done: DropGuard,
}

impl RuntimeThreads {
    /// Starts `n` runtimes, each on a thread made by `spawn` (for example one that entered
    /// a network namespace first: the connections a runtime opens are made in its thread's
    /// namespace). A runtime that cannot be built is logged and left out; a `spawn` error
    /// ends the runtimes started so far and is returned.
    pub fn start<E>(
        n: usize,
        mut spawn: impl FnMut(ThreadJob) -> Result<(), E>,
    ) -> Result<Self, E> {
        let done = CancellationToken::new();
        let mut this = Self {
            handles: Vec::with_capacity(n),
            _done: done.clone().drop_guard(),
        };
        for _ in 0..n {
            let (tx, rx) = std::sync::mpsc::channel();
            let done = done.clone();
            spawn(Box::new(
                move || match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => {
                        let _ = tx.send(Some(rt.handle().clone()));
                        rt.block_on(done.cancelled());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a proxy runtime did not start");
                        let _ = tx.send(None);
                    }
                },
            ))?;
            if let Ok(Some(h)) = rx.recv() {
                this.handles.push(h);
            }
        }
        Ok(this)
    }

    /// The runtimes' handles, for [`crate::Config::tcp_runtimes`].
    pub fn handles(&self) -> Vec<Handle> {
        self.handles.clone()
    }
}
