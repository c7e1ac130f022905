//! Native file dialogs behind a small trait, so tests can inject answers.
//!
//! rfd's xdg-portal backend returns `None` both when the user cancels and when no portal (or
//! zenity) answers; the app therefore always offers a path field and drag and drop as well.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Open and save dialogs.
pub trait FileDialog: Send {
    /// Ask for a file to open. `None`: cancelled or no dialog available.
    fn pick_file(&mut self, title: &str) -> Option<PathBuf>;
    /// Ask where to save a file. `None`: cancelled or no dialog available.
    fn save_file(&mut self, title: &str, default_name: &str) -> Option<PathBuf>;
}

/// The OS's dialogs through rfd.
#[derive(Debug, Default)]
pub struct NativeFileDialog;

impl FileDialog for NativeFileDialog {
    fn pick_file(&mut self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter(
                "Event files",
                &["csv", "tsv", "txt", "json", "ndjson", "jsonl", "xlsx", "gz"],
            )
            .add_filter("All files", &["*"])
            .pick_file()
    }

    fn save_file(&mut self, title: &str, default_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(default_name)
            .save_file()
    }
}

/// A dialog for tests: answers from queues (an empty queue answers `None`, like a cancel) and
/// records the titles it was asked with.
#[derive(Debug, Clone, Default)]
pub struct FakeFileDialog {
    inner: Arc<Mutex<FakeAnswers>>,
}

#[derive(Debug, Default)]
struct FakeAnswers {
    open: VecDeque<PathBuf>,
    save: VecDeque<PathBuf>,
    asked: Vec<String>,
}

impl FakeFileDialog {
    /// A fake that answers nothing until told.
    pub fn new() -> Self {
        Self::default()
    }
    /// Answer the next open dialog with `path`.
    pub fn answer_open(&self, path: impl Into<PathBuf>) {
        self.lock().open.push_back(path.into());
    }
    /// Answer the next save dialog with `path`.
    pub fn answer_save(&self, path: impl Into<PathBuf>) {
        self.lock().save.push_back(path.into());
    }
    /// The titles of every dialog opened so far.
    pub fn asked(&self) -> Vec<String> {
        self.lock().asked.clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, FakeAnswers> {
        // A poisoned lock only means a test thread panicked; the data is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl FileDialog for FakeFileDialog {
    fn pick_file(&mut self, title: &str) -> Option<PathBuf> {
        let mut answers = self.lock();
        answers.asked.push(title.to_owned());
        answers.open.pop_front()
    }
    fn save_file(&mut self, title: &str, _default_name: &str) -> Option<PathBuf> {
        let mut answers = self.lock();
        answers.asked.push(title.to_owned());
        answers.save.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_answers_in_order_then_like_a_cancel() {
        let fake = FakeFileDialog::new();
        let mut dialog: Box<dyn FileDialog> = Box::new(fake.clone());
        fake.answer_open("/a.csv");
        assert_eq!(dialog.pick_file("Open"), Some(PathBuf::from("/a.csv")));
        assert_eq!(dialog.pick_file("Open"), None);
        fake.answer_save("/out.csv");
        assert_eq!(
            dialog.save_file("Save", "x.csv"),
            Some(PathBuf::from("/out.csv"))
        );
        assert_eq!(fake.asked(), vec!["Open", "Open", "Save"]);
    }
}
