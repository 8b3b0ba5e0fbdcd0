//! A Kubernetes (or Istio) object as read from a file, and where it came from.

use super::Node;
use std::sync::Arc;

/// Index of a source file in [`Sources`].
pub type SourceId = u32;

/// The files (or standard input) that were read, with their text kept for source snippets.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
    /// Where each line starts, built the first time a line of this file is asked for: a
    /// check of one large file points at thousands of its lines.
    line_starts: std::sync::OnceLock<Box<[usize]>>,
}

impl SourceFile {
    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let text = self.text.as_bytes();
            let mut starts = Vec::with_capacity(text.len() / 32 + 1);
            if !text.is_empty() {
                starts.push(0);
            }
            starts.extend(
                memchr::memchr_iter(b'\n', text)
                    .map(|i| i + 1)
                    .filter(|&start| start < text.len()),
            );
            starts.into_boxed_slice()
        })
    }

    /// The text of one 0-based line as [`str::lines`] gives it: without its `\n` or `\r\n`.
    fn line(&self, index: usize) -> Option<&str> {
        let starts = self.line_starts();
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(self.text.len());
        let line = &self.text[start..end];
        let Some(line) = line.strip_suffix('\n') else {
            return Some(line);
        };
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

impl Sources {
    pub fn add(&mut self, name: &str, text: Arc<str>) -> SourceId {
        self.files.push(SourceFile {
            name: name.into(),
            text,
            line_starts: std::sync::OnceLock::new(),
        });
        (self.files.len() - 1) as SourceId
    }

    pub fn name(&self, id: SourceId) -> &str {
        self.files
            .get(id as usize)
            .map(|f| &*f.name)
            .unwrap_or("<unknown>")
    }

    pub fn text(&self, id: SourceId) -> &str {
        self.files.get(id as usize).map(|f| &*f.text).unwrap_or("")
    }

    /// The text of one 1-based line, without its line break (as [`str::lines`] splits).
    pub fn line(&self, id: SourceId, line: u32) -> Option<&str> {
        self.files
            .get(id as usize)?
            .line((line as usize).checked_sub(1)?)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Where something was written: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub file: Arc<str>,
    pub line: u32,
}

impl Origin {
    pub fn new(file: &Arc<str>, line: u32) -> Self {
        Origin {
            file: file.clone(),
            line,
        }
    }

    /// Where a value inside an object starting at `object_line` was written: its own line,
    /// or the object's when it has none (a value made up, not read).
    pub fn of_value(file: &Arc<str>, object_line: u32, node: &Node) -> Self {
        Origin::new(
            file,
            if node.line > 0 {
                node.line
            } else {
                object_line
            },
        )
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One object with `apiVersion`, `kind` and `metadata.name`.
#[derive(Debug, Clone)]
pub struct Object {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as written, if it was.
    pub namespace: Option<String>,
    pub source: SourceId,
    pub file: Arc<str>,
    /// Line of the object's first key.
    pub line: u32,
    pub doc: Node,
}

impl Object {
    pub fn origin(&self) -> Origin {
        Origin::new(&self.file, self.line)
    }

    pub fn origin_at(&self, node: &Node) -> Origin {
        Origin::of_value(&self.file, self.line, node)
    }

    /// The API group, e.g. `networking.istio.io` for `networking.istio.io/v1`.
    pub fn group(&self) -> &str {
        api_group(&self.api_version)
    }
}

/// The group of an apiVersion: `networking.istio.io` for `networking.istio.io/v1`, empty for
/// the core group's `v1`.
pub fn api_group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}
