//! Progress updates of a running task, sent to the engine as JSON lines.

use std::io::Write;
use std::sync::Mutex;

use serde::Serialize;

/// One progress update of a running task.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Progress {
    /// Units done so far.
    pub done: u64,
    /// Units in all (0 when unknown).
    pub total: u64,
    /// A short status line, e.g. `epoch 3/20 loss 0.41 212 img/s`.
    pub message: String,
}

/// Sends [`Progress`] updates to the engine (one JSON line each on the worker's progress stream).
#[derive(Default)]
pub struct ProgressSink {
    out: Option<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressSink")
            .field("connected", &self.out.is_some())
            .finish()
    }
}

impl ProgressSink {
    /// A sink that writes JSON lines to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            out: Some(Mutex::new(out)),
        }
    }

    /// A sink that drops every update (tests, direct calls).
    pub fn discard() -> Self {
        Self::default()
    }

    /// Reports `done` of `total` units with a status line. Errors writing progress are ignored: progress
    /// must never fail a task.
    pub fn update(&self, done: u64, total: u64, message: impl Into<String>) {
        let Some(out) = &self.out else { return };
        let event = Progress {
            done,
            total,
            message: message.into(),
        };
        if let (Ok(mut w), Ok(line)) = (out.lock(), serde_json::to_string(&event)) {
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_are_json() {
        let buf = std::sync::Arc::new(Mutex::new(Vec::new()));
        struct W(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for W {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = ProgressSink::new(Box::new(W(buf.clone())));
        sink.update(3, 10, "epoch 3/10");
        let text = String::from_utf8(buf.lock().unwrap().clone()).unwrap();
        let p: Progress = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(p.done, 3);
        assert_eq!(p.message, "epoch 3/10");
    }
}
