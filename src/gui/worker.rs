//! Background work for the GUI: a thread reports through an `mpsc` channel and wakes the UI with
//! `request_repaint`; the UI drains the channel with a time budget per frame and never blocks.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

/// How long one frame may spend applying messages from one background task.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// The sending side given to a background thread: every message wakes the UI.
pub struct Reporter<M> {
    sender: Sender<M>,
    ctx: egui::Context,
}

impl<M> Reporter<M> {
    /// Send one message and ask for a repaint. Returns `false` when the UI side is gone (the
    /// task was dropped): the worker should then stop.
    pub fn send(&self, message: M) -> bool {
        let delivered = self.sender.send(message).is_ok();
        self.ctx.request_repaint();
        delivered
    }
}

/// The receiving side of a background task, kept by a step while the task runs.
pub struct Task<M> {
    receiver: Receiver<M>,
    finished: bool,
}

impl<M: Send + 'static> Task<M> {
    /// Run `work` on a new thread with a [`Reporter`] for its messages.
    pub fn spawn(
        ctx: &egui::Context,
        name: &str,
        work: impl FnOnce(Reporter<M>) + Send + 'static,
    ) -> Self {
        let (sender, receiver) = mpsc::channel();
        let reporter = Reporter {
            sender,
            ctx: ctx.clone(),
        };
        let spawned = std::thread::Builder::new()
            .name(format!("mixport-{name}"))
            .spawn(move || work(reporter));
        // When the OS refuses a thread, the channel's sender is dropped with the closure and the
        // task reads as finished with no message; callers show "did not finish" in that case.
        let finished = spawned.is_err();
        Self { receiver, finished }
    }
}

impl<M> Task<M> {
    /// Apply queued messages to `apply` until the queue is empty or [`DRAIN_BUDGET`] is spent
    /// (then a repaint is requested so the rest is applied next frame).
    pub fn drain(&mut self, ctx: &egui::Context, mut apply: impl FnMut(M)) {
        let start = Instant::now();
        loop {
            if start.elapsed() >= DRAIN_BUDGET {
                ctx.request_repaint();
                return;
            }
            match self.receiver.try_recv() {
                Ok(message) => apply(message),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.finished = true;
                    return;
                }
            }
        }
    }

    /// Whether the worker has ended and every message was applied.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_arrive_and_the_task_finishes() {
        let ctx = egui::Context::default();
        let mut task = Task::spawn(&ctx, "test", |reporter: Reporter<u32>| {
            for i in 0..100 {
                reporter.send(i);
            }
        });
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !task.is_finished() && Instant::now() < deadline {
            task.drain(&ctx, |m| got.push(m));
        }
        assert!(task.is_finished());
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
}
