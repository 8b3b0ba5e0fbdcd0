//! Paths -> the files to read: a file as it is (a FIFO or a device too), a folder read
//! recursively in name order, hidden entries and entries the filter refuses left out. Both the
//! manifest loader and the traffic reader walk their inputs through here.

use std::path::{Path, PathBuf};

/// A path that could not be walked.
pub(crate) enum WalkProblem {
    /// The path does not exist.
    NotFound { path: String },
    /// The operating system refused to read it (or to list the folder).
    Unreadable { file: String, message: String },
}

/// The folders [`Input::Skip`](super::Input::Skip) names, as their real paths (one that does
/// not exist holds nothing to skip).
pub(crate) fn skipped(inputs: &[super::Input]) -> Vec<PathBuf> {
    inputs
        .iter()
        .filter_map(|i| match i {
            super::Input::Skip(p) => std::fs::canonicalize(p).ok(),
            _ => None,
        })
        .collect()
}

/// How folders are walked: the file names kept, and the folders (real paths) left out
/// wherever they are found below a folder given.
pub(crate) struct Walk<'a> {
    pub keep: &'a dyn Fn(&str) -> bool,
    pub skip: &'a [PathBuf],
}

impl Walk<'_> {
    /// Adds `path` (a file) or the files below it (a folder) whose names `keep` accepts to
    /// `files`, as (display name, path), in name order.
    pub(crate) fn walk(
        &self,
        path: &Path,
        files: &mut Vec<(String, PathBuf)>,
        problems: &mut Vec<WalkProblem>,
    ) {
        let display = path.display().to_string();
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(WalkProblem::NotFound { path: display });
                return;
            }
            Err(e) => {
                problems.push(WalkProblem::Unreadable {
                    file: display,
                    message: e.to_string(),
                });
                return;
            }
        };
        if !meta.is_dir() {
            files.push((display, path.to_path_buf()));
            return;
        }
        let mut entries = match std::fs::read_dir(path) {
            Ok(rd) => rd.filter_map(|e| e.ok()).collect::<Vec<_>>(),
            Err(e) => {
                problems.push(WalkProblem::Unreadable {
                    file: display,
                    message: e.to_string(),
                });
                return;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let child = entry.path();
            if kind.is_dir() {
                let skipped = !self.skip.is_empty()
                    && std::fs::canonicalize(&child).is_ok_and(|real| self.skip.contains(&real));
                if !skipped {
                    self.walk(&child, files, problems);
                }
            } else if (kind.is_file() || (kind.is_symlink() && child.is_file()))
                && (self.keep)(&name)
            {
                files.push((child.display().to_string(), child));
            }
        }
    }
}
