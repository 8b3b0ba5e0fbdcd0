//! File names as the report shows them: never where the files were read from on this
//! machine, so the report of the same manifests is the same file wherever it was made.
//!
//! A manifest is named relative to the input it was found under (`shop/orders.yaml` for
//! `examples/shopfront/shop/orders.yaml` read as `examples/shopfront`; with several inputs,
//! after the input's own name, `shopfront/shop/orders.yaml`, so two can be told apart); a file of the output
//! folder relative to that folder, and linked when the report sits in it; anything else by
//! its file name alone.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// How to name and link the files findings and evidence point at.
#[derive(Debug, Default, Clone)]
pub struct Places {
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    /// Files written beside the report (relative to its folder): the only link targets.
    written: BTreeSet<String>,
}

/// A file as shown: its text, and a relative link when the file sits beside the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub text: String,
    pub link: Option<String>,
}

impl Places {
    /// `inputs` as given on the command line (`-` is standard input).
    pub fn new(inputs: &[String]) -> Places {
        Places {
            inputs: inputs
                .iter()
                .filter(|p| p.as_str() != "-")
                .map(|p| normal(Path::new(p)))
                .collect(),
            ..Places::default()
        }
    }

    /// The report sits in `dir`, beside `written` (paths relative to `dir`).
    pub fn beside(mut self, dir: &Path, written: impl IntoIterator<Item = PathBuf>) -> Places {
        self.output = Some(normal(dir));
        self.written = written
            .into_iter()
            .map(|p| slashed(&p))
            .filter(|p| !p.is_empty())
            .collect();
        self
    }

    /// Whether any file was written beside the report (so a file not among them does not exist).
    pub fn has_any(&self) -> bool {
        !self.written.is_empty()
    }

    /// Whether `rel` (relative to the report's folder) was written beside it.
    pub fn has(&self, rel: &str) -> bool {
        self.written.contains(rel)
    }

    /// A link to `rel` if it was written beside the report.
    pub fn link(&self, rel: &str) -> Option<String> {
        self.has(rel).then(|| rel.to_string())
    }

    /// The files written beside the report whose path starts with `prefix`, sorted.
    pub fn written_under(&self, prefix: &str) -> Vec<String> {
        self.written
            .range(prefix.to_string()..)
            .take_while(|p| p.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// How the report names `file`.
    pub fn show(&self, file: &str) -> Shown {
        if file == "-" || file.is_empty() {
            return Shown {
                text: "standard input".to_string(),
                link: None,
            };
        }
        let path = normal(Path::new(file));
        if let Some(out) = &self.output {
            if let Ok(rel) = path.strip_prefix(out) {
                let rel = slashed(rel);
                return Shown {
                    link: self.link(&rel),
                    text: rel,
                };
            }
        }
        for input in &self.inputs {
            if path == *input {
                return Shown {
                    text: file_name(&path),
                    link: None,
                };
            }
            if let Ok(rel) = path.strip_prefix(input) {
                let text = match input.file_name().filter(|_| self.inputs.len() > 1) {
                    Some(name) => format!("{}/{}", name.to_string_lossy(), slashed(rel)),
                    None => slashed(rel),
                };
                return Shown { text, link: None };
            }
        }
        let text = if path.is_absolute() || path.starts_with("..") {
            file_name(&path)
        } else {
            slashed(&path)
        };
        Shown { text, link: None }
    }
}

/// The path without `.` components and repeated separators, so prefixes compare.
fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

fn slashed(path: &Path) -> String {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| slashed(path), |n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_named_under_their_input_and_never_by_a_local_path() {
        let one = Places::new(&["examples/shopfront".into()]);
        assert_eq!(
            one.show("examples/shopfront/shop/a.yaml").text,
            "shop/a.yaml"
        );
        assert_eq!(
            one.show("./examples/shopfront/shop/a.yaml").text,
            "shop/a.yaml"
        );
        let p = Places::new(&["examples/shopfront".into(), "/home/a/one.yaml".into()]);
        assert_eq!(
            p.show("examples/shopfront/shop/a.yaml").text,
            "shopfront/shop/a.yaml"
        );
        assert_eq!(p.show("/home/a/one.yaml").text, "one.yaml");
        assert_eq!(p.show("/elsewhere/b.yaml").text, "b.yaml");
        assert_eq!(p.show("../up/c.yaml").text, "c.yaml");
        assert_eq!(p.show("-").text, "standard input");
        assert_eq!(p.show("a/b.yaml").link, None);
    }

    #[test]
    fn files_of_the_output_are_linked_only_when_written_beside_the_report() {
        let p = Places::new(&["in".into()]).beside(
            Path::new("/tmp/x/out"),
            [PathBuf::from("config/shop/a/virtual-service.yaml")],
        );
        let shown = p.show("/tmp/x/out/config/shop/a/virtual-service.yaml");
        assert_eq!(shown.text, "config/shop/a/virtual-service.yaml");
        assert_eq!(
            shown.link.as_deref(),
            Some("config/shop/a/virtual-service.yaml")
        );
        let other = p.show("/tmp/x/out/config/shop/a/sidecar.yaml");
        assert_eq!(other.text, "config/shop/a/sidecar.yaml");
        assert_eq!(other.link, None);
    }
}
